"""The optimizer's logic on deterministic LMs: selection, ordering, memo, budgets, counts."""

from __future__ import annotations

import collections

import dspy
import pytest

from pld import PLD, macro_f1
from pld.budget import CallBudget
from pld.pipeline.render import base_instructions
from pld.rules import CandidateRule
from pld.pipeline.scoring import StudentScorer
from pld.pipeline.selection import greedy_select
from tests.fakes import (
    RULE_ALL_NEG,
    RULE_ALL_POS,
    RULE_SPECIAL_NEG,
    ToySignature,
    field_value,
    function_lm,
    rule_following_student,
    rule_writing_teacher,
    served_function_lm,
    toy_examples,
)

METRIC = macro_f1("label", ["pos", "neg"])


def _candidate(cid: str, text: str) -> CandidateRule:
    return CandidateRule(id=cid, text=text, source="cluster", cluster_size=1, example_keys=(), micro_rules=(text,))


def _scorer(budget: int | None = None):
    program = dspy.Predict(ToySignature)
    student, engine = function_lm(rule_following_student, "student")
    return StudentScorer(program, base_instructions(program), student, METRIC, CallBudget("student", budget)), engine


def test_greedy_selects_helpful_rules_in_the_order_that_scores_best():
    scorer, _ = _scorer()
    candidates = [_candidate("bad", RULE_ALL_NEG), _candidate("pos", RULE_ALL_POS), _candidate("neg", RULE_SPECIAL_NEG)]
    result = greedy_select(scorer, candidates, toy_examples(16, 8), min_gain=0.01, max_rules=5, progress=False)

    assert [rule.id for rule in result.selected] == ["neg", "pos"]  # the narrow rule must come first
    assert result.baseline_val_macro_f1 == 0.0
    assert result.val_macro_f1 == 1.0
    assert len(result.rounds[0].trials) == 3  # every candidate at the single position
    assert len(result.rounds[1].trials) == 4  # two candidates at two positions
    assert result.rounds[1].winner_position == 0
    assert "bad" not in [rule.id for rule in result.selected]
    assert result.gains[0] + result.gains[1] == pytest.approx(1.0)
    assert [e.credible(0.01) for e in result.estimates] == [True, True] and result.steps[0] == []


def test_greedy_stops_when_no_rule_helps():
    scorer, _ = _scorer()
    result = greedy_select(scorer, [_candidate("noop", "Be concise.")], toy_examples(16, 8), min_gain=0.01,
                           progress=False)
    assert result.selected == []
    assert result.val_macro_f1 == result.baseline_val_macro_f1
    assert "can reach a credible gain of min_gain" in result.stop_reason  # racing dropped it at once
    assert result.rounds[0].trials[0].examples == 12 and "min_gain" in result.rounds[0].trials[0].dropped


def test_scorer_never_asks_the_same_prompt_and_example_twice():
    scorer, engine = _scorer()
    examples = toy_examples()
    for _ in range(3):
        scorer.macro_f1([RULE_ALL_POS], examples)
        scorer.macro_f1([], examples)
    assert len(engine.requests) == 2 * len(examples)
    assert len(set(engine.requests)) == len(engine.requests)


def _compile(**overrides):
    teacher, teacher_engine = function_lm(rule_writing_teacher, "teacher")
    student, student_engine = function_lm(rule_following_student, "student")
    settings = dict(teacher_lm=teacher, student_lm=student, metric=METRIC, min_gain=0.01, max_repair_rounds=1,
                    progress=False)
    settings.update(overrides)
    compiled = PLD(**settings).compile(
        dspy.Predict(ToySignature), trainset=toy_examples(6, 6), valset=toy_examples(16, 8, start=100)
    )
    return compiled, teacher_engine, student_engine


def test_a_served_students_label_fallbacks_reach_the_compile_report_and_pld_show():
    from pld.artifacts.report_markdown import render_report_markdown

    student, engine = served_function_lm(rule_following_student, "gemma", fallback_every=4)
    compiled, _, _ = _compile(student_lm=student)
    report = compiled.pld_report
    fell_back = engine.fallback_reasons["the server has no tokenize endpoint"]
    assert fell_back > 0 and report.label_decoding == {
        "paths": {"logit-bias": engine.label_paths["logit-bias"], "grammar": fell_back},
        "fallbacks": {"the server has no tokenize endpoint": fell_back}}
    assert any(f"label decoding fell back {fell_back} time(s)" in warning for warning in report.warnings)
    assert f"student label paths: grammar {fell_back}" in report.summary()
    page = render_report_markdown("toy", "openai/gemma", "openai/gemma", report)
    assert f"fell back: the server has no tokenize endpoint {fell_back}" in page  # report.md, shown by `pld show --all`


def _rewrite_requests(teacher_engine) -> int:
    return sum("`revised_rules`" in system for system, _ in teacher_engine.requests)


def test_compile_returns_the_best_program_not_the_last():
    compiled, teacher_engine, _ = _compile()
    report = compiled.pld_report
    instructions = compiled.signature.instructions
    assert report.final_val_macro_f1 == 1.0
    assert [rule.text for rule in report.rules] == [RULE_SPECIAL_NEG, RULE_ALL_POS]
    assert instructions.index(RULE_SPECIAL_NEG) < instructions.index(RULE_ALL_POS)
    # these rules leave no training example wrong: the conflict loop stops without asking the teacher
    assert [(r.failures, r.note, r.accepted) for r in report.repair_rounds] == [(0, "no failures on train", False)]
    assert _rewrite_requests(teacher_engine) == 0
    assert compiled.candidate_programs[0]["score"] == report.final_val_macro_f1
    assert ToySignature.instructions == "Label each item."  # the shared signature class is untouched


def test_a_repair_rewrite_that_commands_one_label_is_refused_before_scoring():
    compiled, teacher_engine, student_engine = _compile(max_rules=1)  # one rule cannot fix the special items
    report = compiled.pld_report
    assert [rule.text for rule in report.rules] == [RULE_ALL_POS]  # the best single rule
    (repair,) = report.repair_rounds
    assert repair.failures == 6 and _rewrite_requests(teacher_engine) == 1  # the teacher saw the failures
    assert repair.proposed_rules == [] and repair.val_macro_f1 is None and not repair.accepted
    assert not any(RULE_ALL_NEG in system for system, _ in student_engine.requests)  # never scored
    refused = [(r.text, r.kind, r.round) for r in report.rejected_rules if r.stage == "repair"]
    assert refused == [(RULE_ALL_NEG, "unconditional", 1)]
    assert report.final_val_macro_f1 == report.selected_val_macro_f1


@pytest.mark.parametrize("selection", ["exhaustive", "racing"])
def test_a_repair_rewrite_that_scores_lower_is_rejected(selection: str):
    def narrowing_teacher(system: str, user: str) -> dict[str, str]:
        if "`revised_rules`" in system:  # fixes the failures, breaks every ordinary item
            return {"revised_rules": RULE_SPECIAL_NEG}
        return rule_writing_teacher(system, user)

    teacher, _ = function_lm(narrowing_teacher, "teacher")
    compiled, _, _ = _compile(teacher_lm=teacher, max_rules=1, selection=selection)
    report = compiled.pld_report
    (repair,) = report.repair_rounds
    assert repair.proposed_rules == [RULE_SPECIAL_NEG] and not repair.accepted
    if selection == "exhaustive":  # scored on every validation example
        assert repair.examples == report.n_val
        assert repair.gain == pytest.approx(repair.val_macro_f1 - report.selected_val_macro_f1) and repair.gain < 0
    else:  # raced: dropped on a first stage that shows it cannot become credible
        assert repair.examples < report.n_val and repair.note.startswith("dropped by racing")
        assert not repair.gain_estimate.credible(0.01)
    assert [rule.text for rule in report.rules] == [RULE_ALL_POS]
    assert RULE_SPECIAL_NEG not in compiled.signature.instructions
    assert report.final_val_macro_f1 == report.selected_val_macro_f1
    refused = [(r.text, r.kind) for r in report.rejected_rules if r.stage == "repair"]
    assert refused == [(RULE_SPECIAL_NEG, "no-gain")]


def test_compile_sends_no_prompt_example_pair_twice_and_counts_match_the_engines():
    compiled, teacher_engine, student_engine = _compile()
    report = compiled.pld_report
    duplicates = [pair for pair, n in collections.Counter(student_engine.requests).items() if n > 1]
    assert duplicates == []
    assert report.totals["student"]["calls"] == len(student_engine.requests) == report.unique_student_queries
    assert report.totals["teacher"]["calls"] == len(teacher_engine.requests)
    phase_calls = sum(p.usage.get("student", {}).get("calls", 0) for p in report.phases.values())
    assert phase_calls == len(student_engine.requests)


def test_student_budget_stops_the_run_and_keeps_the_best_so_far():
    compiled, _, student_engine = _compile(max_student_calls=40)
    report = compiled.pld_report
    assert len(student_engine.requests) <= 40
    assert "budget" in report.selection_stop_reason
    assert report.final_val_macro_f1 >= report.baseline_val_macro_f1


def test_teacher_budget_caps_traces():
    compiled, teacher_engine, _ = _compile(max_teacher_calls=3)
    assert len(teacher_engine.requests) <= 3
    assert len(compiled.pld_report.traces) == 3


def test_compiled_program_never_scores_below_baseline_when_every_rule_hurts():
    def harmful_teacher(system: str, user: str) -> dict[str, str]:
        fields = rule_writing_teacher(system, user)
        return {k: (RULE_ALL_NEG if k in ("rule", "merged_rule") else v) for k, v in fields.items()}

    def good_student(system: str, user: str) -> dict[str, str]:
        right = "neg" if "special" in user else "pos"
        return {"label": "neg" if RULE_ALL_NEG in system else right}

    teacher, _ = function_lm(harmful_teacher, "teacher")
    student, _ = function_lm(good_student, "student")
    examples = toy_examples(3, 3)
    compiled = PLD(teacher_lm=teacher, student_lm=student, metric=METRIC, progress=False).compile(
        dspy.Predict(ToySignature), trainset=examples, valset=examples
    )
    report = compiled.pld_report
    assert report.rules == []
    assert report.final_val_macro_f1 == report.baseline_val_macro_f1 == 1.0
    assert compiled.signature.instructions == "Label each item."


def test_label_free_traces_report_teacher_accuracy():
    compiled, _, _ = _compile(trace_mode="label-free")
    report = compiled.pld_report
    assert all(trace.mode == "label-free" for trace in report.traces)
    assert report.teacher_accuracy == 1.0


def test_bad_inputs_give_clear_errors():
    optimizer = PLD(teacher_lm="local/none", student_lm="local/none", progress=False)
    with pytest.raises(ValueError, match="trainset is empty"):
        optimizer.compile(dspy.Predict(ToySignature), trainset=[])
    unlabeled = [dspy.Example(text="x").with_inputs("text")] * 4
    with pytest.raises(ValueError, match="label-free"):
        optimizer.compile(dspy.Predict(ToySignature), trainset=unlabeled)
    with pytest.raises(ValueError, match="with_inputs"):
        optimizer.compile(dspy.Predict(ToySignature), trainset=[dspy.Example(text="x", label="pos")] * 4)


def test_cache_hits_are_counted_as_such():
    from tests.fakes import FunctionEngine
    from pld.usage import UsageCounter

    lm = dspy.LM("test/cached", engine=FunctionEngine(lambda s, u: {"label": "pos"}), cache=True)
    counter = UsageCounter()
    counter.watch(lm, "student")
    lm("the same prompt")
    lm("the same prompt")
    totals = counter.totals()
    assert (totals.calls, totals.cache_hits) == (2, 1)
    assert totals.input_tokens > 0


def test_a_spent_student_budget_still_leaves_confirmation_its_calls():
    teacher, _ = function_lm(rule_writing_teacher, "teacher")
    student, student_engine = function_lm(rule_following_student, "student")
    # 350 calls: the first rule is selected, then the budget ends selection and repair; the 72 calls
    # for the held-back baseline and final list were kept back, so the rule is still confirmed.
    optimizer = PLD(teacher_lm=teacher, student_lm=student, metric=METRIC, max_student_calls=350, max_repair_rounds=1,
                    progress=False)
    report = optimizer.compile(dspy.Predict(ToySignature), trainset=toy_examples(6, 6),
                               valset=toy_examples(60, 60, start=100)).pld_report
    assert report.n_held_back == 36 and report.confirmation is not None
    assert len(student_engine.requests) == 350 and "72 kept for confirmation" in report.selection_stop_reason
    assert report.confirmation.final_confirmed and [rule.text for rule in report.rules] == [RULE_ALL_POS]


def test_a_program_without_rules_is_reported_on_the_examples_its_baseline_was_scored_on():
    """Selection drops its only list on the first racing stage; repair's rewrite (right on every
    item, a real gain but under this run's min_gain) races the empty list further and is rejected. The report's scores of the returned program (no rules) stay on
    the examples selection scored the baseline on, and say how many that is."""
    ignored = "If the item names a colour, answer pos."  # the student ignores it: changes no answer
    fix = "If the item number is even, answer pos; otherwise answer neg."  # right on every item

    def teacher(system: str, user: str) -> dict[str, str]:
        if "`revised_rules`" in system:
            return {"revised_rules": fix}
        fields = rule_writing_teacher(system, user)
        return {k: (ignored if k in ("rule", "merged_rule") else v) for k, v in fields.items()}

    def student(system: str, user: str) -> dict[str, str]:
        index = int(field_value(user, "text").split()[1])
        gold = "pos" if index % 2 == 0 else "neg"
        wrong = fix not in system and index % 4 == 0
        return {"label": ("neg" if gold == "pos" else "pos") if wrong else gold}

    examples = [dspy.Example(text=f"item {i}", label="pos" if i % 2 == 0 else "neg").with_inputs("text")
                for i in range(48)]
    teacher_lm, _ = function_lm(teacher, "teacher")
    student_lm, _ = function_lm(student, "student")
    compiled = PLD(teacher_lm=teacher_lm, student_lm=student_lm, metric=METRIC, progress=False, min_gain=0.26,
                   max_repair_rounds=1).compile(dspy.Predict(ToySignature), trainset=examples[:8], valset=examples)
    report = compiled.pld_report
    (repair,) = report.repair_rounds
    assert report.rules == [] and report.n_held_back == 0 and not repair.accepted
    assert report.baseline_val_examples < repair.examples  # the rewrite took the baseline further
    assert report.final_val_scores.n == report.baseline_val_examples < report.n_val
    assert report.final_val_macro_f1 == report.selected_val_macro_f1 == report.baseline_val_macro_f1
    assert f"(on {report.baseline_val_examples} of {report.n_val} examples)" in report.summary()
    assert compiled.candidate_programs[0]["rules"] == []
