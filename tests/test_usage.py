"""``pld.usage.counting``: one counter for every place that counts LM calls (deterministic LMs)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import dspy
import pytest
from dspy.utils.callback import BaseCallback

from pld.usage import counting
from tests.fakes import ToySignature, function_lm, rule_following_student, toy_examples


def _lm(cache: bool = False) -> tuple[dspy.LM, object]:
    lm, engine = function_lm(lambda system, user: {"label": "pos"}, f"usage-{uuid.uuid4().hex[:8]}")
    if cache:  # a fresh model name: no entry of another test answers these prompts
        lm = dspy.LM(lm.model, engine=engine, cache=True)
    return lm, engine


def test_callbacks_are_restored_exactly_after_the_block():
    lm, _ = _lm()
    own = BaseCallback()
    lm.callbacks = [own]
    before = lm.callbacks
    with counting({"student": lm}) as usage:
        assert len(lm.callbacks) == 2 and lm.callbacks[0] is own
        lm("a prompt")
    assert lm.callbacks is before and lm.callbacks == [own]
    lm("another prompt")  # after the block: not counted
    assert usage.totals().calls == 1


def test_callbacks_are_restored_after_an_exception():
    teacher, _ = _lm()
    student, _ = _lm()
    before = (teacher.callbacks, student.callbacks)
    with pytest.raises(RuntimeError, match="optimizer exploded"):
        with counting({"teacher": teacher, "student": student}):
            teacher("a prompt")
            raise RuntimeError("optimizer exploded")
    assert (teacher.callbacks, student.callbacks) == before
    assert teacher.callbacks is before[0] and student.callbacks is before[1]


def test_calls_and_cache_hits_from_several_threads():
    lm, engine = _lm(cache=True)
    prompts = [f"prompt number {i}" for i in range(24)]
    with counting({"student": lm}, phase="first") as usage, ThreadPoolExecutor(4) as pool:
        list(pool.map(lm, prompts))  # all new
        usage.phase = "again"
        list(pool.map(lm, prompts))  # all answered by the response cache
    assert len(engine.requests) == len(prompts)
    first, again = usage.totals(phase="first"), usage.totals(phase="again")
    assert (first.calls, first.cache_hits) == (24, 0)
    assert (again.calls, again.cache_hits) == (24, 24)
    # Tokens count real model work only, and match what the engine reported for each request.
    assert first.input_tokens == sum(len(user.split()) for _, user in engine.requests)
    assert again.input_tokens == again.output_tokens == 0
    assert set(usage.by_phase()) == {"first", "again"}


def test_calls_inside_dspy_evaluate_threads_are_counted():
    lm, engine = function_lm(rule_following_student, f"usage-eval-{uuid.uuid4().hex[:8]}")
    examples = toy_examples(6, 6)
    evaluate = dspy.Evaluate(devset=examples, metric=lambda gold, pred, trace=None: gold.label == pred.label,
                             num_threads=3, display_progress=False)
    with counting({"student": lm}, phase="evaluate") as usage, dspy.context(lm=lm):
        evaluate(dspy.Predict(ToySignature))
    assert usage.totals(role="student").calls == len(engine.requests) == len(examples)


def test_one_lm_in_two_roles_is_counted_once():
    lm, engine = _lm()
    with counting({"teacher": lm, "student": lm}) as usage:
        assert len(lm.callbacks) == 1
        lm("one prompt")
        lm("two prompts")
    assert len(engine.requests) == 2
    assert {record.role for record in usage.records} == {"teacher+student"}
    assert usage.totals().calls == 2 and usage.totals(role="teacher").calls == 0


def test_copies_made_inside_the_block_count_and_completions_are_kept():
    lm, _ = _lm()
    with counting({"teacher": lm}, phase="rationales", keep_completions=True) as usage:
        lm.copy(temperature=1.0)("a prompt")  # optimizers copy LMs; the copy keeps the callback
        usage.phase = "labels"
        lm("another prompt")
    assert usage.totals(role="teacher").calls == 2
    assert [text.startswith("[[ ## label ## ]]") for text in usage.completions(phase="rationales")] == [True]
    assert len(usage.completions(phase="labels")) == 1
    with counting({"teacher": lm}) as plain:
        lm("a third prompt")
    assert plain.completions() == []  # texts are kept only when asked for


def test_nested_counting_counts_in_both_and_restores_each_level():
    lm, _ = _lm()
    before = lm.callbacks
    with counting({"student": lm}, phase="compile") as outer:
        middle = lm.callbacks
        with counting({"student": lm}, phase="evaluate") as inner:
            lm("a prompt")
        assert lm.callbacks is middle
        lm("another prompt")
    assert lm.callbacks is before
    assert (outer.totals().calls, inner.totals().calls) == (2, 1)
