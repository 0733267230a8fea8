"""``pld doctor`` and the engine probe: native crashes in a child become one line with the fix."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from pld.cli import main
from pld.errors import BackendError
from pld.backends.local import probe


def _crashing_child(signal_name: str) -> list[str]:
    """A real child process that dies of a real signal, as a native build does in its first decode."""
    if signal_name == "SIGSEGV":
        code = "import ctypes; ctypes.string_at(0)"
    else:
        code = f"import os, signal; os.kill(os.getpid(), signal.{signal_name})"
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("signal_name", ["SIGSEGV", "SIGILL"])
def test_a_crashing_child_is_reported_with_the_fix(signal_name):
    result = probe.run_probe(_crashing_child(signal_name), timeout=60)
    assert not result.ok
    assert signal_name in result.message
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF"' in result.message and "--no-cache-dir" in result.message


def test_a_hanging_child_is_reported_after_the_timeout():
    result = probe.run_probe([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert not result.ok and "did not finish" in result.message


def test_a_failing_child_reports_its_last_error_line():
    result = probe.run_probe([sys.executable, "-c", "raise SystemExit('no such model file')"], timeout=60)
    assert not result.ok and "no such model file" in result.message


def test_ensure_engine_runs_raises_with_the_fix_when_the_probe_crashes(monkeypatch, tmp_path):
    monkeypatch.setattr(probe, "_stamp", lambda key: tmp_path / f"{key}.json")
    monkeypatch.setattr(probe, "probe_model", lambda path: probe.run_probe(_crashing_child("SIGSEGV"), timeout=60))
    with pytest.raises(BackendError, match="SIGSEGV.*GGML_NATIVE=OFF"):
        probe.ensure_engine_runs(Path("model.gguf"))
    assert not list(tmp_path.iterdir())  # a failure is never remembered as a pass


@pytest.mark.model
def test_the_real_engine_passes_once_and_is_remembered(monkeypatch, tmp_path):
    from pld.backends.local.models import resolve_model_path

    path, _ = resolve_model_path("gemma3-270m")
    monkeypatch.setattr(probe, "_stamp", lambda key: tmp_path / f"{key}.json")
    probe.ensure_engine_runs(path)
    assert len(list(tmp_path.glob("*.json"))) == 1

    def must_not_run(_path):
        raise AssertionError("a remembered pass must not start another child")

    monkeypatch.setattr(probe, "probe_model", must_not_run)
    probe.ensure_engine_runs(path)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_doctor_reports_each_failure_on_one_line_with_its_fix(capsys, tmp_path):
    url = f"http://user:s3cret@127.0.0.1:{_closed_port()}/v1"
    status = main(["doctor", "--student", "openai/gemma", "--api-base", url, "--timeout", "2",
                   "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 1
    lines = out.strip().splitlines()
    failures = [line for line in lines if line.startswith("FAIL")]
    assert any("openai/gemma" in line and "cannot reach" in line and "fix:" in line for line in failures)
    assert sum("data " in line for line in failures) == 3
    assert all("fix:" in line for line in failures)
    assert "s3cret" not in out + err and "Traceback" not in out + err
    assert lines[-1] == f"{len(failures)} check(s) failed"


def test_doctor_checks_each_server_of_a_pool(capsys, tmp_path):
    ports = [_closed_port(), _closed_port()]
    urls = ",".join(f"http://127.0.0.1:{port}/v1" for port in ports)
    status = main(["doctor", "--student", "openai/gemma", "--api-base", urls, "--timeout", "2",
                   "--data-dir", str(tmp_path)])
    out, _ = capsys.readouterr()
    assert status == 1
    server_lines = [line for line in out.splitlines() if "openai/gemma" in line]
    assert len(server_lines) == 2
    assert all(any(f":{port}" in line for line in server_lines) for port in ports)


@pytest.mark.model
def test_doctor_passes_on_a_working_installation(capsys, data_dir):
    status = main(["doctor", "--data-dir", str(data_dir)])
    out, _ = capsys.readouterr()
    assert status == 0, out
    assert "ok    local/gemma3-270m: loads and decodes" in out
    assert "ok    local/qwen2.5-0.5b: loads and decodes" in out
    assert out.strip().endswith("all checks passed")
