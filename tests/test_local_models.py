"""The embedded backend for real: Gemma 3 270M (student) and Qwen2.5 0.5B (teacher) in llama.cpp."""

from __future__ import annotations

import threading

import dspy
import pytest

from pld.evaluate import student_adapter
from pld.backends.lm import make_lm
from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER
from pld.backends.local.prompting import parse_output_fields, render_chat
from pld.tasks import get_task

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def student() -> dspy.BaseLM:
    return make_lm(DEFAULT_STUDENT)


@pytest.fixture(scope="module")
def stereoset_examples(data_dir) -> list[dspy.Example]:
    return get_task("stereoset").load_splits(data_dir).val[:6]


def test_constrained_label_is_always_in_the_label_set(student, stereoset_examples):
    program = get_task("stereoset").make_program()
    labels = set(get_task("stereoset").labels)
    with dspy.context(lm=student, adapter=student_adapter()):
        answers = [program(**ex.inputs()).label for ex in stereoset_examples]
    assert set(answers) <= labels


def test_free_generation_and_chain_of_thought(student, stereoset_examples):
    program = get_task("stereoset").make_program("cot")
    with dspy.context(lm=student, adapter=student_adapter()):
        prediction = program(**stereoset_examples[0].inputs())
    assert prediction.label in get_task("stereoset").labels
    assert isinstance(prediction.reasoning, str)
    text = student("Write one word:")[0]
    assert isinstance(text, str)


def test_the_shared_prompt_prefix_is_reused(student, stereoset_examples):
    program = get_task("stereoset").make_program()
    with dspy.context(lm=student.copy(cache=False), adapter=student_adapter()) as _:
        program(**stereoset_examples[0].inputs())
        program(**stereoset_examples[1].inputs())
    usage = student.local_engine
    assert usage.prompt_tokens_evaluated < usage.prompt_tokens_total


def test_calls_from_several_threads_are_safe(student, stereoset_examples):
    program = get_task("stereoset").make_program()
    lm = student.copy(cache=False)
    answers: list[str] = []

    def work(example: dspy.Example) -> None:
        with dspy.context(lm=lm, adapter=student_adapter()):
            answers.append(program(**example.inputs()).label)

    threads = [threading.Thread(target=work, args=(ex,)) for ex in stereoset_examples[:4]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4


def test_teacher_writes_a_trace_with_a_rule(stereoset_examples):
    from pld.pipeline.teacher import Teacher
    from pld.pipeline.traces import render_example

    task = get_task("stereoset")
    teacher = Teacher(task.labels)
    example = stereoset_examples[0]
    with dspy.context(lm=make_lm(DEFAULT_TEACHER), adapter=student_adapter()):
        trace = teacher(task="Classify the sentence.", example=render_example(example), label=example.label)
    assert trace.rule and trace.reasoning


def test_output_fields_are_read_from_the_chat_adapter_prompt():
    signature = get_task("stereoset").signature
    messages = dspy.ChatAdapter().format(signature, demos=[], inputs={"target": "t", "context": "c", "sentence": "s"})
    fields = parse_output_fields(messages[0]["content"])
    assert [f.name for f in fields] == ["label"]
    assert fields[0].choices == ("stereotype", "anti-stereotype", "unrelated")
    prompt = render_chat("gemma", "SYS", [("user", "hi")])
    assert prompt == "<start_of_turn>user\nSYS\n\nhi<end_of_turn>\n<start_of_turn>model\n"
