"""Macro F1 against values computed by hand."""

from __future__ import annotations

import dspy
import pytest

from pld.metrics import macro_f1, score_labels

LABELS = ["a", "b", "c"]


def test_macro_f1_matches_a_hand_computed_value():
    gold = ["a", "a", "b", "b", "c", "c"]
    predicted = ["a", "b", "b", "b", "c", "a"]
    # a: P=1/2 R=1/2 F=0.5; b: P=2/3 R=1 F=0.8; c: P=1 R=1/2 F=2/3
    scores = score_labels(gold, predicted, LABELS)
    assert scores.macro_f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert scores.accuracy == pytest.approx(4 / 6)
    assert scores.per_class_f1 == pytest.approx({"a": 0.5, "b": 0.8, "c": 2 / 3})
    assert scores.confusion == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0]]
    assert scores.format_failures == 0


def test_invalid_and_missing_predictions_count_as_wrong_and_as_failures():
    scores = score_labels(["a", "b", "c"], ["a", None, "zzz"], LABELS)
    assert scores.format_failures == 2
    assert scores.accuracy == pytest.approx(1 / 3)
    # a: P=1 R=1 F=1; b and c: never predicted -> 0
    assert scores.macro_f1 == pytest.approx(1 / 3)
    assert scores.confusion[1] == [0, 0, 0, 1]


def test_labels_absent_from_gold_still_count_in_the_average():
    scores = score_labels(["a", "a"], ["a", "a"], LABELS)
    assert scores.macro_f1 == pytest.approx(1 / 3)


def test_metric_object_scores_examples_and_predictions():
    metric = macro_f1("label", LABELS)
    examples = [dspy.Example(x=1, label="a"), dspy.Example(x=2, label="b")]
    predictions = [dspy.Prediction(label="a"), None]
    assert metric(examples[0], predictions[0]) == 1.0
    assert metric(examples[1], predictions[1]) == 0.0
    assert metric.score(examples, predictions).format_failures == 1


def test_metric_without_labels_explains_the_fix():
    with pytest.raises(ValueError, match="full label set"):
        macro_f1("label").score([], [])
