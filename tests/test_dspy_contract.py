"""PLD as a DSPy optimizer, written the way DSPy's own docs write optimizer code: a plain metric
callable, LMs from ``dspy.configure``, ``compile(**kwargs)``, a returned program bound to its
student, and ``candidate_programs`` / ``trial_logs`` that say what they measured."""

from __future__ import annotations

import dspy
import pytest

from pld import PLD
from pld.errors import ConfigError
from tests.fakes import (
    RULE_ALL_POS,
    RULE_SPECIAL_NEG,
    ToySignature,
    function_lm,
    rule_following_student,
    rule_writing_teacher,
    toy_examples,
)


def exact_match(example, prediction, trace=None):
    return example.label == prediction.label


def _compile_with_configured_lms(**settings):
    teacher, teacher_engine = function_lm(rule_writing_teacher, "teacher")
    student, student_engine = function_lm(rule_following_student, "student")
    program = dspy.Predict(ToySignature)
    with dspy.context(lm=student):  # DSPy users configure one LM; PLD takes it for both roles
        optimizer = PLD(metric=exact_match, min_gain=0.01, max_repair_rounds=0, progress=False, **settings)
        compiled = optimizer.compile(program, trainset=toy_examples(6, 6), valset=toy_examples(16, 8, start=100),
                                     teacher=teacher, requires_permission_to_run=False)
    return compiled, student, student_engine


def test_a_plain_dspy_metric_selects_by_macro_f1_and_is_reported():
    compiled, _, _ = _compile_with_configured_lms()
    report = compiled.pld_report
    assert [rule.text for rule in report.rules] == [RULE_SPECIAL_NEG, RULE_ALL_POS]
    assert report.label_field == "label" and report.metric_name == "exact_match"
    assert report.metric_val_score == 1.0  # every validation answer right with these rules


def test_the_configured_lm_is_the_student_and_the_returned_program_names_it():
    compiled, student, engine = _compile_with_configured_lms()
    assert compiled.pld_report.student_model == student.model and compiled.pld_student_lm is student
    before = len(engine.requests)
    with dspy.context(lm=compiled.pld_student_lm):
        prediction = compiled(text="item 7 special")
    assert prediction.label == "neg" and len(engine.requests) == before + 1


def test_candidate_programs_start_with_the_returned_program_and_say_what_they_measured():
    compiled, _, _ = _compile_with_configured_lms()
    first = compiled.candidate_programs[0]
    assert first["returned"] and first["rules"] == [rule.text for rule in compiled.pld_report.rules]
    assert all(entry["measured_on"] in ("selection", "held-back") for entry in compiled.candidate_programs)
    assert all("full_eval_score" not in log or log["rules"] for log in compiled.trial_logs.values())


def test_a_pld_setting_passed_to_compile_is_refused_with_the_fix():
    teacher, _ = function_lm(rule_writing_teacher, "teacher")
    with pytest.raises(ConfigError, match="max_rules is a PLD setting: pass it to PLD"):
        PLD(teacher_lm=teacher, student_lm=teacher).compile(dspy.Predict(ToySignature), trainset=toy_examples(4, 4),
                                                            max_rules=2)


def test_a_metric_without_a_literal_label_field_says_how_to_name_it():
    class Free(dspy.Signature):
        """Answer."""

        text: str = dspy.InputField()
        answer: str = dspy.OutputField()

    teacher, _ = function_lm(rule_writing_teacher, "teacher")
    with pytest.raises(ConfigError, match="pass metric=pld.macro_f1"):
        PLD(teacher_lm=teacher, student_lm=teacher, metric=exact_match).compile(dspy.Predict(Free),
                                                                                trainset=toy_examples(4, 4))


def test_a_student_that_raises_stops_the_compile_instead_of_scoring_zero():
    from pld.errors import StudentError

    def exploding(system: str, user: str) -> dict[str, str]:
        raise RuntimeError("engine exploded")

    teacher, _ = function_lm(rule_writing_teacher, "teacher")
    student, _ = function_lm(exploding, "exploding")
    with pytest.raises(StudentError, match="the student failed with .*engine exploded"):
        PLD(teacher_lm=teacher, student_lm=student, progress=False).compile(
            dspy.Predict(ToySignature), trainset=toy_examples(4, 4), valset=toy_examples(8, 8, start=100))


def test_a_student_with_no_valid_answer_stops_the_compile():
    from pld.errors import StudentError

    teacher, _ = function_lm(rule_writing_teacher, "teacher")
    student, _ = function_lm(lambda system, user: {"label": "maybe"}, "never-valid")
    with pytest.raises(StudentError, match="no valid label"):
        PLD(teacher_lm=teacher, student_lm=student, progress=False).compile(
            dspy.Predict(ToySignature), trainset=toy_examples(4, 4), valset=toy_examples(8, 8, start=100))
