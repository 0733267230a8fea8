"""Racing returns the exhaustive winner at a fraction of the student calls (deterministic LM)."""

from __future__ import annotations

import re

import dspy
import pytest

from pld import macro_f1
from pld.budget import CallBudget
from pld.pipeline.racing import race_order, stage_sizes
from pld.pipeline.render import base_instructions
from pld.rules import CandidateRule
from pld.pipeline.scoring import StudentScorer
from pld.pipeline.selection import greedy_select
from tests.fakes import GRADED_RULES, ToySignature, field_value, function_lm, graded_student, toy_items

def _run(racing: bool, n: int = 480):
    program = dspy.Predict(ToySignature)
    lm, engine = function_lm(graded_student, "student")
    scorer = StudentScorer(program, base_instructions(program), lm, macro_f1("label", ["pos", "neg"]), CallBudget("student"))
    candidates = [CandidateRule(id=f"R{k}", text=text, source="cluster", cluster_size=1, example_keys=(), micro_rules=())
                  for k, text in enumerate(GRADED_RULES)]
    result = greedy_select(scorer, list(reversed(candidates)), toy_items(n), min_gain=0.01, max_rules=3,
                           racing=racing, progress=False)
    return result, len(engine.requests)


def test_racing_returns_the_exhaustive_winner_with_far_fewer_calls():
    exhaustive, exhaustive_calls = _run(racing=False)
    raced, raced_calls = _run(racing=True)
    assert [r.id for r in raced.selected] == [r.id for r in exhaustive.selected] == ["R0"]
    assert raced.val_macro_f1 == exhaustive.val_macro_f1
    assert raced.estimates[0].low > 0 and raced.estimates[0].credible(0.01)
    assert raced_calls <= 0.25 * exhaustive_calls, (raced_calls, exhaustive_calls)
    dropped = [t for t in raced.rounds[0].trials if t.examples < 480]
    assert dropped and all(t.dropped for t in dropped)  # racing really stopped lists early, and says why
    # Round 2: a rule after R0 changes no answer, a rule before it only loses: nothing can be accepted.
    assert raced.rounds[1].winner_id is None and "min_gain" in raced.stop_reason


def test_stage_sizes_and_balanced_order():
    assert stage_sizes(120, eta=4, min_examples=8) == [8, 30, 120]
    assert stage_sizes(48, eta=2, min_examples=12) == [12, 24, 48]
    assert stage_sizes(10, eta=3, min_examples=8) == [10]
    assert stage_sizes(1, eta=2, min_examples=1) == [1]  # one example, scored in full: no endless halving
    ordered = race_order(toy_items(12), "label", seed=1)
    assert [ex.label for ex in ordered[:4]].count("pos") == 2
    assert sorted(ex.text for ex in ordered) == sorted(ex.text for ex in toy_items(12))


@pytest.mark.parametrize("racing", [True, False])
def test_both_modes_never_ask_a_pair_twice(racing):
    program = dspy.Predict(ToySignature)
    lm, engine = function_lm(graded_student, "student")
    scorer = StudentScorer(program, base_instructions(program), lm, macro_f1("label", ["pos", "neg"]), CallBudget("student"))
    candidates = [CandidateRule(id=f"R{k}", text=t, source="cluster", cluster_size=1, example_keys=(), micro_rules=())
                  for k, t in enumerate(GRADED_RULES)]
    greedy_select(scorer, candidates, toy_items(60), racing=racing, progress=False)
    assert len(set(engine.requests)) == len(engine.requests)


def test_the_baseline_races_too_when_every_list_leaves_early():
    """No candidate changes an answer: racing asks the student about the baseline only on the
    examples the list reached, and the result says on how many it scored it."""
    program = dspy.Predict(ToySignature)
    noop = [CandidateRule(id="noop", text="Be concise.", source="cluster", cluster_size=1, example_keys=(),
                          micro_rules=())]
    runs = {}
    for racing in (False, True):
        lm, engine = function_lm(graded_student, "student")
        scorer = StudentScorer(program, base_instructions(program), lm, macro_f1("label", ["pos", "neg"]),
                               CallBudget("student"))
        result = greedy_select(scorer, noop, toy_items(240), min_gain=0.01, racing=racing, progress=False)
        baseline_calls = sum("Be concise." not in system for system, _ in engine.requests)
        runs[racing] = (scorer, result, baseline_calls, len(engine.requests))
    (full, exhaustive, full_baseline, _), (_, raced, baseline_calls, calls) = runs[False], runs[True]
    assert exhaustive.selected == raced.selected == []
    assert exhaustive.baseline_examples == full_baseline == 240
    assert raced.baseline_examples == baseline_calls < 240  # asked only as far as the list went
    assert calls == baseline_calls + raced.rounds[0].trials[0].examples == 2 * baseline_calls
    scored = race_order(toy_items(240), "label", 0)[:baseline_calls]
    assert raced.baseline_val_macro_f1 == full.macro_f1([], scored) == raced.val_macro_f1


HELPS, HURTS_ALONE, HELPS_AFTER = "The first rule.", "The second rule.", "The third rule."


def _interacting_student(system: str, user: str) -> dict[str, str]:
    """HELPS lifts the share of right answers from 0.2 to 0.7; HURTS_ALONE drops it to 0.1 on its own
    but lifts it to 0.95 beside HELPS (an interaction); HELPS_AFTER lifts it to 0.35 alone, 0.85 beside HELPS."""
    text = field_value(user, "text")
    index = int(re.search(r"\d+", text).group())
    gold = "neg" if "special" in text else "pos"
    share = 0.2
    if HELPS in system:
        share = 0.95 if HURTS_ALONE in system else 0.85 if HELPS_AFTER in system else 0.7
    elif HURTS_ALONE in system:
        share = 0.1
    elif HELPS_AFTER in system:
        share = 0.35
    right = (index * 7 + 3) % 20 < share * 20
    return {"label": gold if right else ("pos" if gold == "neg" else "neg")}


def _select_interacting(texts: list[str], retry_futile: bool):
    program = dspy.Predict(ToySignature)
    lm, engine = function_lm(_interacting_student, "student")
    scorer = StudentScorer(program, base_instructions(program), lm, macro_f1("label", ["pos", "neg"]), CallBudget("student"))
    candidates = [CandidateRule(id=f"C{k + 1}", text=text, source="cluster", cluster_size=1, example_keys=(),
                                micro_rules=()) for k, text in enumerate(texts)]
    result = greedy_select(scorer, candidates, toy_items(240), min_gain=0.01, max_rules=3, progress=False,
                           retry_futile=retry_futile)
    return result, len(engine.requests)


def test_lazy_selection_skips_a_rule_that_was_futile_and_says_so():
    """C2 credibly hurts on its own in round 1: lazy selection does not score it again in round 2,
    where it would only have helped beside C1. The trade is visible both ways: fewer student calls,
    and ``retry_futile=True`` finds the interaction lazy selection gives up."""
    lazy, lazy_calls = _select_interacting([HELPS, HURTS_ALONE], retry_futile=False)
    eager, eager_calls = _select_interacting([HELPS, HURTS_ALONE], retry_futile=True)
    first = {t.candidate_id: t for t in lazy.rounds[0].trials}
    assert first["C2"].dropped and "min_gain" in first["C2"].dropped  # round 1: futile, by racing
    assert [r.id for r in lazy.selected] == ["C1"] and lazy.rounds[1].trials == []
    assert lazy.rounds[1].not_retried == ["C2"] and lazy.rounds[1].tested == 2  # both positions, as failed tests
    assert "futile in an earlier round" in lazy.stop_reason
    assert sorted(r.id for r in eager.selected) == ["C1", "C2"] and eager.rounds[1].not_retried == []
    assert lazy_calls < eager_calls


def test_skipped_lists_still_count_in_the_round_family():
    """Skipping never makes acceptance easier: a skipped candidate's lists stay in the Holm family."""
    lazy, _ = _select_interacting([HELPS, HURTS_ALONE, HELPS_AFTER], retry_futile=False)
    assert lazy.rounds[0].winner_id == "C1" and lazy.rounds[0].accepted
    second = lazy.rounds[1]
    assert second.not_retried == ["C2"]
    assert {t.candidate_id for t in second.trials} == {"C3"}
    assert second.tested == 4  # C3 at two positions, scored; C2 at two positions, skipped
