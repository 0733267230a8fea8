"""The gain test that selection, racing, repair and confirmation share (exact logic, no model)."""

from __future__ import annotations

import random

import dspy
import pytest
from sklearn.metrics import f1_score

from pld import macro_f1
from pld.pipeline.confirm import confirm, split_for_confirmation
from pld.pipeline.gains import paired_gain
from pld.pipeline.racing import GainTest

LABELS = ["pos", "neg"]


def _f1(gold, predicted):
    return f1_score(gold, [p if p in LABELS else "<invalid>" for p in predicted], labels=LABELS, average="macro",
                    zero_division=0)


def test_the_observed_gain_is_the_macro_f1_difference_and_invalid_answers_count_as_wrong():
    rng = random.Random(3)
    gold = [rng.choice(LABELS) for _ in range(60)]
    old = [rng.choice(LABELS) for _ in range(60)]
    new = [g if rng.random() < 0.4 else (None if rng.random() < 0.1 else o) for g, o in zip(gold, old)]
    estimate = paired_gain(gold, old, new, LABELS)
    assert estimate.gain == pytest.approx(_f1(gold, new) - _f1(gold, old))
    assert estimate.low <= estimate.gain <= estimate.high
    assert estimate.changed == sum(o != p for o, p in zip(old, new))


def test_one_changed_answer_is_not_a_credible_gain():
    gold = ["pos"] * 4 + ["neg"] * 4
    old = ["neg"] * 8
    new = ["pos"] + ["neg"] * 7  # one answer turned right: a large Macro F1 jump on 8 examples
    estimate = paired_gain(gold, old, new, LABELS)
    assert estimate.gain > 0.1 and estimate.low <= 0 and not estimate.credible(0.01)


def test_three_of_four_answers_turned_right_is_no_evidence_though_the_bootstrap_says_so():
    gold, old, new = ["pos", "pos", "neg", "neg"], ["neg", "neg", "pos", "neg"], ["pos", "pos", "neg", "neg"]
    estimate = paired_gain(gold, old, new, LABELS)
    assert estimate.low > 0  # the percentile bootstrap is overconfident on four examples ...
    assert estimate.p_value == 0.125 and not estimate.credible(0.01)  # ... the exact permutation test is not


def test_eight_answers_turned_right_and_none_wrong_is_credible():
    gold = ["pos"] * 20 + ["neg"] * 20
    old = ["neg"] * 40
    new = ["pos"] * 8 + ["neg"] * 32
    estimate = paired_gain(gold, old, new, LABELS)
    assert estimate.low > 0 and estimate.credible(0.01) and not estimate.credible(estimate.gain + 0.01)


def test_identical_answers_have_a_zero_width_interval_and_cannot_reach_min_gain():
    gold, answers = ["pos", "neg", "neg"], ["neg", "neg", "pos"]
    estimate = paired_gain(gold, answers, answers, LABELS)
    assert (estimate.gain, estimate.low, estimate.high, estimate.changed) == (0.0, 0.0, 0.0, 0)
    assert not estimate.can_reach(0.01) and not estimate.credible(0.0)


def test_the_interval_is_seeded_and_follows_the_confidence():
    rng = random.Random(0)
    gold = [rng.choice(LABELS) for _ in range(80)]
    old = [rng.choice(LABELS) for _ in range(80)]
    new = [g if rng.random() < 0.3 else o for g, o in zip(gold, old)]
    assert paired_gain(gold, old, new, LABELS, seed=1) == paired_gain(gold, old, new, LABELS, seed=1)
    wide, narrow = paired_gain(gold, old, new, LABELS, confidence=0.99), paired_gain(gold, old, new, LABELS, confidence=0.8)
    assert wide.low < narrow.low and wide.high > narrow.high


def _examples(n_pos: int, n_neg: int) -> list[dspy.Example]:
    return [dspy.Example(text=f"item {i}", label="pos" if i < n_pos else "neg").with_inputs("text")
            for i in range(n_pos + n_neg)]


def test_the_held_back_part_is_stratified_disjoint_and_skipped_when_too_small():
    valset = _examples(40, 80)
    select, held = split_for_confirmation(valset, "label", fraction=0.25, min_examples=30, seed=0)
    assert len(held) == 30 and [ex.label for ex in held].count("pos") == 10
    assert {ex.text for ex in select}.isdisjoint(ex.text for ex in held) and len(select) + len(held) == 120
    assert split_for_confirmation(valset, "label", fraction=0.2, min_examples=30, seed=0) == (valset, [])
    assert split_for_confirmation(valset, "label", fraction=0.0, min_examples=1, seed=0) == (valset, [])


class _TableScorer:
    """Answers from a fixed table: rule list -> the labels it yields on each example (by text)."""

    def __init__(self, table: dict[tuple[str, ...], dict[str, str]]):
        self.table = table
        self.metric = macro_f1("label", LABELS)

    def labels(self, rules, examples):
        return [self.table[tuple(rules)][ex.text] for ex in examples]

    def macro_f1(self, rules, examples):
        return _f1([ex.label for ex in examples], self.labels(rules, examples))


def test_an_unconfirmed_final_list_falls_back_to_the_best_confirmed_step_or_to_no_rules():
    held = _examples(10, 10)
    right = {ex.text: ex.label for ex in held}
    none_right = {ex.text: "neg" for ex in held}
    half = {ex.text: (ex.label if i % 2 else "neg") for i, ex in enumerate(held)}
    test = GainTest(labels=tuple(LABELS))
    scorer = _TableScorer({(): none_right, ("A",): half, ("A", "B"): none_right})
    result = confirm(scorer, [[], ["A"], ["A", "B"]], held, test)
    # Five answers turned right of twenty: credible alone (p ~ 0.03 one-sided is not even that), not at
    # Holm's level over the two steps tested: no rules.
    assert not result.final_confirmed and result.rules == [] and result.steps[1].level == pytest.approx(0.0125)
    scorer = _TableScorer({(): none_right, ("A",): right, ("A", "B"): none_right})
    result = confirm(scorer, [[], ["A"], ["A", "B"]], held, test)
    assert not result.final_confirmed and result.rules == ["A"] and "NOT confirmed" in result.note
    assert result.biased and "biased" in result.note  # chosen on the held-back examples
    scorer = _TableScorer({(): half, ("A",): none_right})
    result = confirm(scorer, [[], ["A"]], held, test)
    assert result.rules == [] and "without rules" in result.note
    scorer = _TableScorer({(): none_right, ("A",): right})
    result = confirm(scorer, [[], ["A"]], held, test)
    assert result.final_confirmed and result.rules == ["A"] and result.steps[1].estimate.low > 0


def test_the_budget_keeps_the_confirmation_calls_back_and_a_run_without_budget_left_still_confirms():
    from pld.budget import CallBudget
    from pld.errors import BudgetExceeded

    budget = CallBudget("student", 10)
    with budget.holding(4):
        budget.charge(6)
        with pytest.raises(BudgetExceeded, match="4 kept for confirmation"):
            budget.charge()
    budget.charge(4)  # released for confirmation
    assert budget.remaining == 0


def test_confirmation_scores_the_final_list_first_and_skips_steps_the_budget_cannot_pay():
    from pld.errors import BudgetExceeded

    held = _examples(10, 10)
    right = {ex.text: ex.label for ex in held}
    none_right = {ex.text: "neg" for ex in held}

    class _Capped(_TableScorer):
        def labels(self, rules, examples):
            if tuple(rules) == ("A",):
                raise BudgetExceeded("the student call budget of 40 calls is spent")
            return super().labels(rules, examples)

    scorer = _Capped({(): none_right, ("A", "B"): right})
    result = confirm(scorer, [[], ["A"], ["A", "B"]], held, GainTest(labels=tuple(LABELS)))
    assert result.final_confirmed and result.rules == ["A", "B"] and [len(s.rules) for s in result.steps] == [0, 2]
    assert "1 intermediate step(s) not scored" in result.note


def test_a_gain_that_is_not_credible_says_which_test_failed():
    """Near the boundary the bootstrap interval and the permutation test can disagree: the note must
    say which one refused (the interval above 0, the p-value above its level)."""
    from pld.rules import GainEstimate

    edge = GainEstimate(gain=0.161, low=0.026, high=0.273, confidence=0.95, n=29, changed=8, p_value=0.034)
    assert not edge.credible(0.0)
    assert edge.shortfall(0.0) == "the permutation test's p = 0.034 is above the level 0.025"
    assert "reaches 0" in edge.model_copy(update={"low": -0.01}).shortfall(0.0)
    assert "min_gain" in edge.shortfall(0.05)
    assert edge.model_copy(update={"p_value": 0.01}).shortfall(0.0) == ""


def test_the_inverse_normal_combination_is_stouffers_weighted_by_the_square_root_of_each_stage_size():
    import numpy as np
    from scipy.stats import combine_pvalues

    from pld.pipeline.gains import inverse_normal

    for p_values, sizes in [([0.005, 0.0565], [70, 30]), ([0.3, 0.2], [50, 50]), ([0.9, 0.01], [10, 90])]:
        expected = combine_pvalues(p_values, method="stouffer", weights=np.sqrt(sizes)).pvalue
        assert inverse_normal(p_values, sizes) == pytest.approx(expected, rel=1e-9)
    assert inverse_normal([0.0, 1.0], [1, 1]) == pytest.approx(0.5)  # clipped, symmetric
    with pytest.raises(ValueError, match="one positive size per p-value"):
        inverse_normal([0.1], [10, 20])


def test_selection_evidence_is_the_first_accepted_rounds_p_value_times_the_lists_it_tried():
    from types import SimpleNamespace

    from pld.pipeline.confirm import selection_evidence
    from pld.rules import GainEstimate

    def round_(number, accepted, p_value, tested=None):
        estimate = GainEstimate(gain=0.2, low=0.1, high=0.3, confidence=0.95, n=70, changed=9, p_value=p_value)
        return SimpleNamespace(round=number, accepted=accepted, gain_estimate=estimate, tested=tested)

    selected = [round_(1, True, 0.0005, tested=10), round_(2, False, 0.2, tested=8)]
    evidence = selection_evidence(selected, [], 70)
    assert evidence.p_value == pytest.approx(0.005) and evidence.n == 70 and "selection round 1, 10" in evidence.source
    assert selection_evidence([round_(1, True, 0.2, tested=10)], [], 70).p_value == 1.0  # capped
    repaired = selection_evidence([round_(1, False, 0.01, tested=4)], [round_(1, True, 0.004)], 70)
    assert repaired.p_value == pytest.approx(0.004) and repaired.source.startswith("repair round 1")
    assert selection_evidence([round_(1, False, 0.01, tested=4)], [], 70) is None


def test_confirmation_combines_selections_evidence_with_the_held_back_test_and_a_held_back_loss_vetoes():
    from pld.pipeline.confirm import SelectionEvidence

    held = _examples(10, 10)
    none_right = {ex.text: "neg" for ex in held}
    half = {ex.text: (ex.label if i % 2 else "neg") for i, ex in enumerate(held)}
    test = GainTest(labels=tuple(LABELS))
    scorer = _TableScorer({(): none_right, ("A",): half})
    alone = confirm(scorer, [[], ["A"]], held, test)
    assert not alone.final_confirmed and alone.steps[1].combined_p is None  # 5 of 20 turned right: p ~ 0.03
    strong = SelectionEvidence(p_value=0.005, n=70, source="selection round 1, 10 list(s) tried")
    result = confirm(scorer, [[], ["A"]], held, test, strong)
    assert result.final_confirmed and result.rules == ["A"] and result.steps[1].combined_p < 0.0025
    assert "two stages combine" in result.note and result.evidence == strong
    weak = strong.model_copy(update={"p_value": 0.3})
    result = confirm(scorer, [[], ["A"]], held, test, weak)
    assert not result.final_confirmed and result.rules == [] and "above its level" in result.note
    certain = strong.model_copy(update={"p_value": 1e-6})
    result = confirm(_TableScorer({(): none_right, ("A",): none_right}), [[], ["A"]], held, test, certain)
    assert not result.final_confirmed and result.rules == [] and "no gain on the held-back examples" in result.note


def test_only_the_first_accepted_step_has_a_stage_one_later_steps_are_tested_on_the_held_back_examples_alone():
    from pld.pipeline.confirm import SelectionEvidence

    held = _examples(10, 10)
    none_right = {ex.text: "neg" for ex in held}
    half = {ex.text: (ex.label if i % 2 else "neg") for i, ex in enumerate(held)}
    seven = {ex.text: (ex.label if i % 2 or i < 4 else "neg") for i, ex in enumerate(held)}  # 7 of 10 pos right
    strong = SelectionEvidence(p_value=0.005, n=70, source="selection round 1, 10 list(s) tried")
    scorer = _TableScorer({(): none_right, ("A",): half, ("A", "B"): seven})
    result = confirm(scorer, [[], ["A"], ["A", "B"]], held, GainTest(labels=tuple(LABELS)), strong)
    first, final = result.steps[1], result.steps[2]
    assert first.combined_p is not None and first.confirmed
    assert final.combined_p is None and final.confirmed == final.estimate.credible(0.0)
    assert result.rules == (["A", "B"] if final.confirmed else ["A"])
