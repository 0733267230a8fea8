"""Label scoring through an OpenAI-compatible server: a real llama.cpp server on loopback, serving
the same Gemma weights as the embedded student, must give the same labels."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Literal

import dspy
import httpx
import pytest

from pld.evaluate import student_adapter
from pld.backends.lm import make_lm
from pld.backends.options import DEFAULT_STUDENT, LMOptions
from pld.backends.openai_compat import pick_from_top_logprobs
from pld.tasks import get_task


def test_pick_from_top_logprobs_uses_the_best_listed_prefix():
    top = {"[[": -0.1, "anti": -1.5, "st": -0.9, "un": -3.0}
    assert pick_from_top_logprobs(top, ("stereotype", "anti-stereotype", "unrelated")) == "stereotype"
    assert pick_from_top_logprobs({"x": -0.1}, ("a", "b")) is None


def test_chat_format_needs_a_server_address():
    from pld.errors import ConfigError

    with pytest.raises(ConfigError, match="--api-base"):
        make_lm("openai/gemma", LMOptions(chat_format="gemma"))


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("llama_cpp.server")
    from pld.backends.local.models import resolve_model_path

    path, _ = resolve_model_path("gemma3-270m")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--model_alias", "gemma3-270m", "--interrupt_requests", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("the llama.cpp server did not start in 60 s")
        yield base
    finally:
        process.terminate()  # the server finishes its current generation first: kill after a timeout
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.model
def test_server_scoring_gives_the_embedded_labels(server, data_dir):
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[:6]
    program = task.make_program()
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False))
    embedded = make_lm(DEFAULT_STUDENT, LMOptions(cache=False))
    labels = {}
    for name, lm in (("served", served), ("embedded", embedded)):
        with dspy.context(lm=lm, adapter=student_adapter()):
            labels[name] = [program(**ex.inputs()).label for ex in examples]
    agree = sum(a == b for a, b in zip(labels["served"], labels["embedded"]))
    assert agree >= 5, labels
    assert sum(served.engine.label_paths.values()) == len(examples)  # every label says its path
    assert set(labels["served"]) <= set(task.labels)


class YesNo(dspy.Signature):
    """Answer the question."""

    question: str = dspy.InputField()
    answer: Literal["Yes", "No"] = dspy.OutputField()


@pytest.mark.model
def test_server_scores_labels_from_one_token_of_log_probabilities(server):
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False))
    with dspy.context(lm=served, adapter=student_adapter()):
        answer = dspy.Predict(YesNo)(question="Is the sky blue on a clear day?").answer
    assert answer in ("Yes", "No")
    assert served.engine.label_paths["logprobs"] == 1
    assert served.history[-1]["usage"]["completion_tokens"] == 1
