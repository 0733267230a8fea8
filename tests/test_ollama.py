"""The native Ollama backend: context sizing, the truncation check, label decoding paths and faults
with a scripted client; then against an Ollama-protocol stand-in that runs the real Gemma 3 270M."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import dspy
import pytest

from pld.backends.base import backend_info
from pld.backends.lm import make_lm
from pld.backends.ollama import ollama_lm
from pld.backends.ollama_engine import OllamaEngine, estimate_tokens, pick_label, size_num_ctx
from pld.backends.turn_format import format_of_template
from pld.backends.options import LMOptions
from pld.errors import BackendError, ConfigError
from pld.faults import backend_error, fault_kind

LABELS = ("stereotype", "anti-stereotype", "unrelated")


class YesNo(dspy.Signature):
    """Answer the question."""

    question: str = dspy.InputField()
    answer: Literal["Yes", "No"] = dspy.OutputField()


class ScriptedClient:
    """What ``ollama.Client`` returns, scripted: records each request."""

    def __init__(self, *, template: str = "<start_of_turn>", context_length: int = 32768, logprobs: bool = True,
                 evaluated: int | None = None, error: Exception | None = None):
        self.template, self.context_length, self.logprobs = template, context_length, logprobs
        self.evaluated, self.error = evaluated, error
        self.requests: list[dict[str, Any]] = []

    def show(self, tag: str) -> Any:
        if self.error is not None:
            raise self.error
        return SimpleNamespace(template=self.template, modelinfo={"general.architecture": "gemma3",
                                                                  "gemma3.context_length": self.context_length})

    def generate(self, **kwargs: Any) -> Any:
        self.requests.append(kwargs)
        top = [SimpleNamespace(token="N", logprob=-2.0), SimpleNamespace(token="Ye", logprob=-0.5)]
        logprobs = [SimpleNamespace(token="Ye", logprob=-0.5, top_logprobs=top)] if kwargs.get("logprobs") else None
        if not self.logprobs:
            logprobs = None
        response = '{"label": "No"}' if kwargs.get("format") else "Ye"
        return SimpleNamespace(response=response, logprobs=logprobs, eval_count=1,
                               prompt_eval_count=self.evaluated or len(kwargs["prompt"]) // 4)

    def chat(self, **kwargs: Any) -> Any:
        self.requests.append(kwargs)
        return SimpleNamespace(message=SimpleNamespace(content='{"answer": "No"}'), eval_count=4,
                               prompt_eval_count=self.evaluated or 100)


@contextmanager
def raises_pld(pattern: str) -> Iterator[None]:
    """DSPy wraps an engine's exception; the run sees PLD's own error, as ``pld.faults`` unwraps it."""
    with pytest.raises(Exception) as info:
        yield
    error = backend_error(info.value, "the server")
    assert isinstance(error, BackendError) and re.search(pattern, str(error)), error


def ask(engine: OllamaEngine) -> str:
    lm = dspy.LM("ollama/test", engine=engine, cache=False, temperature=0.0, num_retries=0)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        return dspy.Predict(YesNo)(question="Is the sky blue?").answer


def test_the_window_is_a_growing_power_of_two_within_the_models_context():
    assert size_num_ctx(100, current=0, context_length=32768) == 2048
    assert size_num_ctx(3000, current=2048, context_length=32768) == 4096
    assert size_num_ctx(100, current=4096, context_length=32768) == 4096  # never shrinks: no reloads
    assert size_num_ctx(5000, current=0, context_length=6000) == 6000
    assert estimate_tokens("a" * 300) == 108


def test_labels_come_from_the_best_listed_token_that_starts_exactly_one():
    assert pick_label([("anti", -1.0), ("st", -0.5), ("[[", -0.1)], LABELS) == "stereotype"
    assert pick_label([("x", -0.1)], LABELS) is None
    assert pick_label([("A", -0.1)], ("Apple", "Avocado")) is None  # shared by two: decode instead
    assert format_of_template("<|im_start|>{{ .Prompt }}") == "chatml" and format_of_template("[INST]") is None


def test_a_label_is_scored_from_log_probabilities_with_a_sized_window():
    client = ScriptedClient()
    engine = OllamaEngine(client, "gemma3:4b", server="http://h:11434")
    assert ask(engine) == "Yes"
    assert engine.label_paths == {"logprobs": 1}
    request = client.requests[0]
    assert request["raw"] is True and request["logprobs"] is True and request["top_logprobs"] == 20
    assert request["options"]["num_ctx"] == 2048 and request["options"]["num_predict"] == 1
    assert request["prompt"].startswith("<start_of_turn>user\n") and request["keep_alive"] == "10m"


def test_a_server_without_log_probabilities_gets_the_label_schema():
    client = ScriptedClient(logprobs=False)
    engine = OllamaEngine(client, "gemma3:4b", server="http://h:11434")
    assert ask(engine) == "No" and ask(engine) == "No"
    assert engine.label_paths == {"format": 2}
    schema = client.requests[-1]["format"]
    assert schema["properties"]["label"]["enum"] == ["Yes", "yes", "No", "no"]  # each label in a model's spellings
    assert sum("logprobs" in request for request in client.requests) == 1  # asked once, then not again


def test_grammar_mode_and_other_templates():
    engine = OllamaEngine(ScriptedClient(), "m", server="http://h", label_mode="grammar")
    assert ask(engine) == "No" and engine.label_paths == {"format": 1}
    client = ScriptedClient(template="{{ .System }} [INST] {{ .Prompt }} [/INST]")
    engine = OllamaEngine(client, "mistral", server="http://h")
    assert ask(engine) == "No" and engine.label_paths == {"chat-format": 1}
    assert client.requests[0]["format"]["properties"]["answer"]["enum"] == ["Yes", "No"]
    assert client.requests[0]["messages"][0]["role"] == "system"


def test_a_prompt_that_filled_the_window_fails_with_the_numbers():
    engine = OllamaEngine(ScriptedClient(evaluated=512), "gemma3:4b", server="http://h:11434", num_ctx=512)
    with raises_pld(r"truncated the prompt for 'gemma3:4b'.*512 tokens.*num_ctx=512"):
        ask(engine)


def test_a_prompt_longer_than_the_models_context_fails_before_it_is_sent():
    client = ScriptedClient(context_length=64)
    with raises_pld(r"does not fit the 64-token context of 'gemma3:4b'"):
        ask(OllamaEngine(client, "gemma3:4b", server="http://h:11434"))
    assert client.requests == []


def test_ollama_client_errors_are_classified():
    import ollama

    missing = OllamaEngine(ScriptedClient(error=ollama.ResponseError('{"error":"model \'x\' not found"}', 404)),
                           "x", server="http://h:11434")
    with raises_pld(r"^Ollama at http://h:11434 does not have the model 'x'\. Run `ollama pull x`"):
        ask(missing)
    assert fault_kind(ollama.ResponseError("boom", 500)) == "server"
    assert fault_kind(ConnectionError("Failed to connect to Ollama")) == "unreachable"
    assert fault_kind(ollama.ResponseError("model 'x' not found", 404)) == "not-found"
    assert "HTTP 404" in str(backend_error(ollama.ResponseError("model 'x' not found", 404), "ollama/x at http://h"))


def test_make_lm_builds_the_native_backend(monkeypatch):
    from pld.backends import ollama

    monkeypatch.setattr(ollama, "check_ollama", lambda host, tag, **kwargs: "sha256:abc")
    lm = make_lm("ollama/gemma3:4b", LMOptions(api_base="http://u:p@gpu:11434", label_mode="grammar"))
    assert isinstance(lm.engine, OllamaEngine) and lm.model == "ollama/gemma3:4b+grammar"
    info = backend_info(lm)
    assert (info.kind, info.server, info.ollama_digest) == ("ollama", "http://gpu:11434", "sha256:abc")
    with pytest.raises(ConfigError, match="--calibrate"):
        make_lm("ollama/gemma3:4b", LMOptions(calibrate=True), check=False)


def test_num_ctx_and_keep_alive_reach_every_request(monkeypatch):
    from pld.backends import ollama
    from pld.cli import build_parser
    from pld.commands.common import lm_options

    monkeypatch.setattr(ollama, "check_ollama", lambda host, tag, **kwargs: None)
    lm = make_lm("ollama/gemma3:4b", LMOptions(num_ctx=6144, keep_alive="1h"))
    client = ScriptedClient()
    lm.engine.client = client
    ask(lm.engine)
    assert client.requests[-1]["options"]["num_ctx"] == 6144 and client.requests[-1]["keep_alive"] == "1h"
    default = make_lm("ollama/gemma3:4b", LMOptions(), check=False).engine
    assert (default.fixed_num_ctx, default.keep_alive) == (None, "10m")  # sized from the prompts; 10 minutes
    args = build_parser().parse_args(["evaluate", "--task", "stereoset", "--num-ctx", "8192", "--keep-alive", "-1"])
    options = lm_options(args, "student")
    assert (options.num_ctx, options.keep_alive) == (8192, -1.0)  # a number is seconds; negative: for good
    args = build_parser().parse_args(["evaluate", "--task", "stereoset", "--keep-alive", "5m"])
    assert lm_options(args).keep_alive == "5m"
    with pytest.raises(ConfigError, match="--num-ctx"):
        make_lm("ollama/gemma3:4b", LMOptions(num_ctx=0), check=False)


# -- against the stand-in, running the real model ----------------------------------------------
def _start(context_length: int):
    pytest.importorskip("llama_cpp")
    from tests.servers import start_ollama_standin

    return start_ollama_standin("gemma3-270m", context_length=context_length)


@pytest.fixture(scope="module")
def standin():
    with _start(32768) as running:
        yield running.base


@pytest.mark.model
def test_evaluate_runs_against_the_standin(standin, data_dir, capsys):
    from pld.cli import main

    status = main(["evaluate", "--task", "stereoset", "--student", "ollama/gemma3-270m", "--api-base", standin,
                   "--limit", "6", "--data-dir", str(data_dir), "--no-cache"])
    assert status == 0, capsys.readouterr()


@pytest.mark.model
def test_labels_scored_from_log_probabilities_are_the_embedded_labels(standin, data_dir):
    """Where the top 20 tokens list a label's first token, the served label is the embedded scorer's
    (both take the most likely token that starts one label). Gemma 3 270M, a base model, rarely lists
    a StereoSet label there: those go to ``format`` (a JSON schema), whose JSON context shifts the
    model's choice, so only the scored labels are compared."""
    from pld.evaluate import student_adapter
    from pld.tasks import get_task

    task = get_task("stereoset")
    cases = [(task.make_program(), example.inputs()) for example in task.load_splits(data_dir).val[:3]]
    cases += [(dspy.Predict(YesNo), {"question": q}) for q in ("Is the sky blue on a clear day?", "Is fire cold?")]
    served = make_lm("ollama/gemma3-270m", LMOptions(api_base=standin, cache=False))
    embedded = make_lm("local/gemma3-270m", LMOptions(cache=False))  # the model the servers serve
    compared = 0
    for program, inputs in cases:
        before = served.engine.label_paths["logprobs"]
        with dspy.context(lm=served, adapter=student_adapter()):
            got = program(**inputs)
        with dspy.context(lm=embedded, adapter=student_adapter()):
            expected = program(**inputs)
        field = "label" if hasattr(got, "label") else "answer"
        assert getattr(got, field) in (task.labels if field == "label" else ("Yes", "No"))
        if served.engine.label_paths["logprobs"] > before:
            compared += 1
            assert getattr(got, field) == getattr(expected, field), inputs
    assert sum(served.engine.label_paths.values()) == len(cases)  # every label says its path
    assert compared >= 1, served.engine.label_paths


@pytest.mark.model
def test_truncation_and_a_missing_model_fail_loudly(standin):
    served = ollama_lm("gemma3-270m", LMOptions(api_base=standin, cache=False), check=True, num_ctx=64)
    with dspy.context(lm=served, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        with raises_pld(r"truncated the prompt for 'gemma3-270m'.*num_ctx=64"):
            dspy.Predict(YesNo)(question="Is the sky blue on a clear day? " * 20)
    with pytest.raises(BackendError, match=r"does not have the model 'llama9'\. Run `ollama pull llama9` first\.$"):
        make_lm("ollama/llama9", LMOptions(api_base=standin))


@pytest.mark.model
def test_a_prompt_beyond_the_models_context_length_fails_before_it_is_sent():
    with _start(128) as running:
        served = make_lm("ollama/gemma3-270m", LMOptions(api_base=running.base, cache=False))
        with dspy.context(lm=served, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
            with raises_pld(r"does not fit the 128-token context of 'gemma3-270m'"):
                dspy.Predict(YesNo)(question="Is the sky blue on a clear day? " * 40)
