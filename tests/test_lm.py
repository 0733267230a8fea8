"""Model specs and backend checks, with real error paths (nothing listening on the port)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from pld.errors import BackendError, ConfigError
from pld.backends.base import backend_info
from pld.backends.lm import make_lm
from pld.backends.ollama import ollama_host
from pld.backends.options import LMOptions


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ollama_spec_without_a_server_says_to_start_one():
    options = LMOptions(api_base=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(BackendError, match="ollama serve"):
        make_lm("ollama/gemma3:4b", options)


def test_ollama_host_comes_from_option_then_environment(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:11434")
    assert ollama_host(LMOptions()) == "http://10.0.0.5:11434"
    assert ollama_host(LMOptions(api_base="http://h:1/v1")) == "http://h:1"


def test_ollama_lm_uses_ollamas_own_api():
    from pld.backends.ollama_engine import OllamaEngine

    lm = make_lm("ollama/gemma3:4b", LMOptions(api_base="http://127.0.0.1:1/v1"), check=False)
    assert lm.model == "ollama/gemma3:4b"
    assert isinstance(lm.engine, OllamaEngine) and lm.engine.server == "http://127.0.0.1:1"


def test_openai_without_a_key_explains_the_fix(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        make_lm("openai/gpt-4o-mini")


def test_openai_compatible_server_needs_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    lm = make_lm("openai/qwen", LMOptions(api_base="http://127.0.0.1:8000/v1"), check=False)
    assert lm.kwargs["api_base"] == "http://127.0.0.1:8000/v1"


def test_servers_get_a_timeout_and_dspy_owns_the_retries(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    lm = make_lm("openai/qwen", LMOptions(api_base="http://127.0.0.1:8000/v1", timeout=7, num_retries=1), check=False)
    assert lm.kwargs["timeout"] == 7 and lm.num_retries == 1
    served = make_lm("openai/qwen", LMOptions(api_base="http://127.0.0.1:8000/v1", chat_format="gemma", timeout=7),
                     check=False)
    client = served.engine.client
    assert client.timeout == 7 and client.max_retries == 0  # one attempt per request: DSPy retries


def test_userinfo_leaves_the_address_for_a_basic_auth_header(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    lm = make_lm("openai/qwen", LMOptions(api_base="http://user:secret@127.0.0.1:8000/v1"), check=False)
    assert lm.kwargs["api_base"] == "http://127.0.0.1:8000/v1"
    assert lm.kwargs["extra_headers"]["Authorization"].startswith("Basic ")
    assert backend_info(lm).server == "http://127.0.0.1:8000/v1"


def test_a_closed_port_is_reported_before_any_run(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(BackendError, match="cannot be reached"):
        make_lm("openai/qwen", LMOptions(api_base=f"http://127.0.0.1:{_free_port()}/v1"))


def test_api_key_is_not_in_the_saved_state(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    lm = make_lm("openai/gpt-4o-mini")
    assert "sk-test-secret-123" not in repr(lm.dump_state())


@pytest.mark.parametrize("spec", ["gemma", "local/", "local/not-a-model", "local/missing/file.gguf"])
def test_bad_specs_give_clear_errors(spec):
    with pytest.raises((ConfigError, BackendError)) as info:
        make_lm(spec)
    assert "local/gemma3-270m" in str(info.value) or "form" in str(info.value) or "names no model" in str(info.value)


def test_cli_prints_one_line_and_no_traceback_for_a_missing_server(data_dir):
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "-m", "pld.cli", "evaluate", "--task", "stereoset", "--student", "ollama/gemma3:4b",
         "--api-base", f"http://127.0.0.1:{port}", "--limit", "3", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ollama serve" in result.stderr.strip().splitlines()[-1]


def test_cli_rejects_an_unknown_task(data_dir):
    result = subprocess.run([sys.executable, "-m", "pld.cli", "evaluate", "--task", "nope", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "stereoset" in result.stderr
