"""What an LM is, as PLD built it: ``backend_info`` for every kind of LM, through copies, with
credentials stripped; label decoding that never shares cached answers; llama.cpp's log lines
routed to logging. Nothing here needs a server or loads a model."""

from __future__ import annotations

import copy
import logging
import uuid
from pathlib import Path

import dspy
import pytest
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.backends import ollama
from pld.backends.base import BackendInfo, LabelDecoding, backend_info, model_digests
from pld.backends.lm import default_concurrency, make_lm
from pld.backends.local import native_log
from pld.backends.local.engine import LlamaCppEngine
from pld.backends.local.lm import engine_of
from pld.backends.local.models import sha256_file
from pld.backends.openai_compat import CompletionsEngine
from pld.backends.options import LMOptions
from pld.faults import server_of


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    """A file named like GGUF weights: building a local LM hashes it; nothing loads it."""
    path = tmp_path / f"tiny-{uuid.uuid4().hex[:8]}.gguf"
    path.write_bytes(b"GGUF" + uuid.uuid4().bytes)
    return path


@pytest.fixture(autouse=True)
def _no_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_a_local_lm_knows_its_weights_and_label_decoding(gguf):
    lm = make_lm(f"local/{gguf}", LMOptions(label_mode="grammar", calibrate=True))
    info = backend_info(lm)
    assert info == BackendInfo(spec=f"local/{gguf}", kind="local", weights_sha256=sha256_file(gguf),
                               label_decoding=LabelDecoding(label_mode="grammar", calibrate=True))
    assert lm.model == f"local/{gguf.name}@{info.weights_sha256[:12]}+grammar"
    assert isinstance(engine_of(lm), LlamaCppEngine)
    assert default_concurrency(lm) == 1
    assert model_digests({"student": lm}) == {"student": info.weights_sha256}


def test_an_ollama_lm_knows_its_server_without_credentials_and_its_digest(monkeypatch):
    monkeypatch.setattr(ollama, "check_ollama", lambda host, tag, **kwargs: "sha256:abc123")
    lm = make_lm("ollama/gemma3:4b", LMOptions(api_base="http://user:secret@gpu-box:11434", timeout=30))
    assert backend_info(lm) == BackendInfo(spec="ollama/gemma3:4b", kind="ollama", server="http://gpu-box:11434",
                                           timeout=30, ollama_digest="sha256:abc123")
    assert model_digests({"teacher": lm}) == {"teacher_ollama": "sha256:abc123"}
    assert engine_of(lm) is None and default_concurrency(lm) == 4
    unchecked = make_lm("ollama/gemma3:4b", LMOptions(api_base="http://127.0.0.1:1"), check=False)
    assert backend_info(unchecked).ollama_digest is None


def test_openai_lms_know_their_server_and_timeout():
    lm = make_lm("openai/qwen", LMOptions(api_base="http://user:secret@127.0.0.1:8000/v1", timeout=7), check=False)
    assert backend_info(lm) == BackendInfo(spec="openai/qwen", kind="openai", server="http://127.0.0.1:8000/v1",
                                           timeout=7)
    assert server_of(lm) == "openai/qwen at http://127.0.0.1:8000/v1"
    served = make_lm("openai/gemma", LMOptions(api_base="http://127.0.0.1:8000/v1", chat_format="gemma"), check=False)
    assert backend_info(served).kind == "openai" and backend_info(served).server == "http://127.0.0.1:8000/v1"
    assert isinstance(served.engine, CompletionsEngine) and engine_of(served) is None
    assert backend_info(served).chat_format == "gemma" and backend_info(lm).chat_format is None


def test_other_specs_and_foreign_lms_get_a_minimal_info():
    litellm = make_lm("anthropic/claude-x", LMOptions(timeout=5), check=False)
    assert backend_info(litellm) == BackendInfo(spec="anthropic/claude-x", kind="litellm", timeout=5)
    foreign = dspy.LM("openai/gpt-x", api_base="http://user:secret@host:9/v1", api_key="k")
    assert backend_info(foreign) == BackendInfo(spec="openai/gpt-x", kind="other")
    assert server_of(foreign) == "openai/gpt-x at http://host:9/v1"  # its address, credentials stripped
    assert backend_info(dspy.utils.DummyLM([{"answer": "x"}])).kind == "other"
    assert model_digests({"student": foreign}) == {}


def test_copies_keep_the_info_and_share_the_engine(gguf):
    lm = make_lm(f"local/{gguf}", LMOptions(calibrate=True))
    program = dspy.Predict("question -> answer")
    program.set_lm(lm)
    copies = [lm.copy(cache=False), copy.deepcopy(lm), program.deepcopy().get_lm()]
    for other in copies:
        assert backend_info(other) == backend_info(lm)
        assert engine_of(other) is engine_of(lm)
        assert other.model == lm.model
    served = make_lm("openai/qwen", LMOptions(api_base="http://127.0.0.1:8000/v1"), check=False)
    assert backend_info(served.copy(temperature=0.5)) == backend_info(served)


def test_a_saved_lm_loads_as_a_plain_dspy_lm_without_the_custom_class_opt_in():
    lm = make_lm("openai/qwen", LMOptions(api_base="http://127.0.0.1:8000/v1", timeout=7), check=False)
    loaded = dspy.BaseLM.load_state(lm.dump_state())
    assert type(loaded) is dspy.LM
    assert loaded.model == lm.model
    assert loaded.kwargs == {k: v for k, v in lm.kwargs.items() if k != "api_key"}  # DSPy never saves keys


def _answer_with_the_decoding(engine: LlamaCppEngine) -> list[LabelDecoding]:
    """Stand in for the model: the engine answers with the label mode it was asked to decode with."""
    seen: list[LabelDecoding] = []

    def complete(request, decoding=None):
        seen.append(decoding)
        text = f"{decoding.label_mode}{'+calibrated' if decoding.calibrate else ''}"
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=Usage(input_tokens=1, output_tokens=1))

    engine.complete = complete  # type: ignore[method-assign]
    return seen


def test_label_decodings_over_one_engine_never_share_cached_answers(gguf):
    modes = {"score": LMOptions(), "grammar": LMOptions(label_mode="grammar"),
             "score+calibrated": LMOptions(calibrate=True)}
    lms = {name: make_lm(f"local/{gguf}", options) for name, options in modes.items()}
    engine = engine_of(lms["score"])
    assert all(engine_of(lm) is engine for lm in lms.values())  # one model in memory
    seen = _answer_with_the_decoding(engine)
    for _ in range(2):  # the second round is answered from DSPy's response cache
        for name, lm in lms.items():
            assert lm("Which label?") == [name]
    assert len(seen) == len(lms)  # each decoding reached the engine once, then hit its own cache entry
    assert len({lm.model for lm in lms.values()}) == len(lms)
    assert lms["score"].copy()("Which label?") == ["score"] and len(seen) == len(lms)


def test_llama_cpp_lines_go_to_logging_at_debug_and_errors_at_warning(caplog):
    caplog.set_level(logging.DEBUG, logger=native_log.LOGGER_NAME)
    native_log._emit(3, "llama_kv_cache_iswa: using full-size SWA cache\n")
    native_log._emit(4, "llama_model_load: error ")
    native_log._emit(5, "loading model\n")
    native_log._emit(2, "sched_reserve: a\nsched_reserve: b\n")
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == native_log.LOGGER_NAME]
    assert records == [
        (logging.DEBUG, "llama_kv_cache_iswa: using full-size SWA cache"),
        (logging.WARNING, "llama_model_load: error loading model"),  # a continued line keeps its level
        (logging.DEBUG, "sched_reserve: a"),
        (logging.DEBUG, "sched_reserve: b"),
    ]


class _CountingLabels:
    """A served engine that answers the label and counts its paths as the real engines do."""

    def __init__(self) -> None:
        from collections import Counter

        self.label_paths: Counter[str] = Counter({"logprobs": 5})  # an earlier run's counts
        self.fallback_reasons: Counter[str] = Counter()
        self.calls = 0

    def complete(self, request):
        self.calls += 1
        if self.calls % 2:
            self.label_paths["logprobs"] += 1
        else:
            self.label_paths["grammar"] += 1
            self.fallback_reasons["label tokens not in the top 20"] += 1
        text = "[[ ## answer ## ]]\nyes\n\n[[ ## completed ## ]]"
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=Usage(input_tokens=3, output_tokens=2))

    def close(self) -> None:
        pass


def test_evaluate_reports_a_served_students_label_paths_and_fallbacks():
    from pld.artifacts.tables import eval_table
    from pld.backends.base import BackendLM
    from pld.evaluate import evaluate_program
    from pld.metrics import macro_f1

    engine = _CountingLabels()
    lm = BackendLM("openai-completions/gemma", backend=BackendInfo(spec="openai/gemma", kind="openai"),
                   engine=engine, cache=False)
    examples = [dspy.Example(question=f"q{i}", answer="yes").with_inputs("question") for i in range(3)]
    report = evaluate_program(dspy.Predict("question -> answer"), examples, lm, macro_f1("answer", ["yes", "no"]))
    assert report.label_decoding == {"paths": {"logprobs": 2, "grammar": 1},  # this run only
                                     "fallbacks": {"label tokens not in the top 20": 1}}
    assert "  label paths       grammar 1, logprobs 2; fell back: label tokens not in the top 20 1" in (
        eval_table("t", "openai/gemma", "zero-shot", report).splitlines())
    plain = evaluate_program(dspy.Predict("question -> answer"), examples,
                             dspy.LM("test/x", engine=engine, cache=False), macro_f1("answer", ["yes", "no"]))
    assert plain.label_decoding is None and "label paths" not in eval_table("t", "x", "zero-shot", plain)


def test_a_new_backend_is_one_row_of_the_table():
    """make_lm, the task's calibration default, pld doctor and the command line's help read the
    backend table: a backend registered once is built, calibrated, checked and listed."""
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions
    from pld.backends.probes import Check
    from pld.backends.registry import Backend, can_calibrate, register, spec_help, unregister
    from pld.doctor import check_server
    from pld.tasks import get_task
    from tests.fakes import function_lm

    built: list[str] = []

    def build(spec: str, options: LMOptions, check: bool):
        built.append(spec)
        return function_lm(lambda system, user: {"answer": "yes"}, spec.replace("/", "-"))[0]

    register(Backend("echo", "echo", "answers yes to everything", build, scores_labels=True,
                     calibrates=lambda spec, options: True,
                     doctor=lambda spec, api_base, timeout: Check(spec, True, "echo answers")))
    try:
        lm = make_lm("echo/x")
        with dspy.context(lm=lm):
            assert dspy.Predict("question -> answer")(question="is it on?").answer == "yes"
        assert built == ["echo/x"]
        assert can_calibrate("echo/x", LMOptions())
        assert get_task("stereoset").default_options("echo/x", LMOptions()).calibrate is True
        assert check_server("echo/x", None) == Check("echo/x", True, "echo answers")
        assert "echo/" in spec_help()
    finally:
        unregister("echo")
    assert "echo/" not in spec_help()
