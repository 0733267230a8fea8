"""Macro F1 and friends, computed from per-example predictions over the full label set.

DSPy's ``Evaluate`` averages a per-example score, which cannot express Macro F1; here the
corpus metric is computed with scikit-learn from the predicted labels. A missing or invalid
prediction counts as wrong (and as a format failure), never as a skipped example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

INVALID = "<invalid>"


class LabelScores(BaseModel):
    """Corpus-level scores of one run over labelled examples."""

    n: int
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]  # rows: gold label, columns: predicted label (+ a final "invalid" column)
    format_failures: int


def score_labels(gold: Sequence[str], predicted: Sequence[str | None], labels: Sequence[str]) -> LabelScores:
    """Score predictions against gold labels; ``None`` or out-of-set predictions are failures."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score  # here: reports load without it

    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    labels = list(labels)
    cleaned = [p if p in labels else INVALID for p in predicted]
    failures = sum(p == INVALID for p in cleaned)
    if not gold:
        return LabelScores(n=0, macro_f1=0.0, accuracy=0.0, per_class_f1={l: 0.0 for l in labels},
                           labels=labels, confusion=[], format_failures=0)
    per_class = f1_score(gold, cleaned, labels=labels, average=None, zero_division=0)
    matrix = confusion_matrix(gold, cleaned, labels=[*labels, INVALID])[: len(labels)]
    return LabelScores(
        n=len(gold),
        macro_f1=float(f1_score(gold, cleaned, labels=labels, average="macro", zero_division=0)),
        accuracy=float(accuracy_score(gold, cleaned)),
        per_class_f1={label: float(value) for label, value in zip(labels, per_class)},
        labels=labels,
        confusion=matrix.tolist(),
        format_failures=failures,
    )


@dataclass(frozen=True)
class MacroF1:
    """A corpus metric: ``score`` gives Macro F1 over examples; calling it scores one example
    (1.0 if right), so it also works wherever DSPy expects a per-example metric."""

    label_field: str = "label"
    labels: tuple[str, ...] | None = None

    def __call__(self, example: Any, prediction: Any, trace: Any = None) -> float:
        return float(self.predicted_label(prediction) == example[self.label_field])

    def predicted_label(self, prediction: Any) -> str | None:
        if prediction is None:
            return None
        value = prediction.get(self.label_field) if hasattr(prediction, "get") else getattr(prediction, self.label_field, None)
        return None if value is None else str(value)

    def with_labels(self, labels: Sequence[str]) -> MacroF1:
        return MacroF1(self.label_field, tuple(labels))

    def score(self, examples: Sequence[Any], predictions: Sequence[Any]) -> LabelScores:
        if self.labels is None:
            raise ValueError("MacroF1 needs the full label set: macro_f1(label_field=..., labels=[...])")
        gold = [str(example[self.label_field]) for example in examples]
        return score_labels(gold, [self.predicted_label(p) for p in predictions], self.labels)


def macro_f1(label_field: str = "label", labels: Sequence[str] | None = None) -> MacroF1:
    """The PLD metric. ``labels`` may be left out when the task's signature types them as Literal."""
    return MacroF1(label_field, tuple(labels) if labels is not None else None)


def slice_accuracy(examples: Sequence[Any], predicted: Sequence[str | None], label_field: str,
                   slice_field: str) -> dict[str, dict[str, float | int]]:
    """Accuracy on each slice of ``examples`` (grouped by ``slice_field``, e.g. the house-policy rule
    that decided the gold label): ``{slice: {"n": ..., "correct": ..., "accuracy": ...}}``."""
    slices: dict[str, dict[str, float | int]] = {}
    for example, answer in zip(examples, predicted):
        entry = slices.setdefault(str(example[slice_field]), {"n": 0, "correct": 0, "accuracy": 0.0})
        entry["n"] += 1
        entry["correct"] += int(answer is not None and str(answer) == str(example[label_field]))
    for entry in slices.values():
        entry["accuracy"] = entry["correct"] / entry["n"]
    return dict(sorted(slices.items()))
