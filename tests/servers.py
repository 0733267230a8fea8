"""Real servers on loopback for tests and benchmarks: start one, wait until it answers, stop it.

One helper for every server the suite and the benchmarks run: llama.cpp's OpenAI-compatible
server over an embedded model's weights, the fault server (``tests/fault_server.py``), and the
Ollama stand-in (``tests/ollama_standin.py``). Every wait is bounded; ``stop`` terminates, then
kills after a timeout, so no test or benchmark leaves a process behind.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent


class ServerDidNotStart(RuntimeError):
    """The process exited, or did not answer in time; the message says which and where."""


class ServerProcess:
    """A server process and the base URL it answers at; a context manager that stops it."""

    def __init__(self, process: subprocess.Popen, base: str):
        self.process = process
        self.base = base

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (a llama.cpp server finishes its current generation first), then SIGKILL."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """At once: a test that kills a server mid-run has no time for a graceful stop."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(process: subprocess.Popen, url: str, seconds: float) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerDidNotStart(f"the server for {url} exited with status {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise ServerDidNotStart(f"nothing answered at {url} within {seconds:g} s")


def _read_ready(process: subprocess.Popen, what: str, seconds: float) -> int:
    """The port from the ``ready PORT`` line a stand-in prints once it listens."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("ready "):
        process.kill()
        raise ServerDidNotStart(f"the {what} did not start within {seconds:g} s: {line!r}")
    return int(line.split()[1])


def start_llama_server(model: str = "gemma3-270m", *flags: str, core: int | None = None, threads: int | None = None,
                       log: IO[str] | None = None, wait: bool = True, seconds: float = 120) -> ServerProcess:
    """``python -m llama_cpp.server`` over an embedded model's weights on a free loopback port;
    ``core`` pins it to one CPU (with ``threads``, two servers share a machine fairly)."""
    from pld.backends.local.models import resolve_model_path

    path, _ = resolve_model_path(model)
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", "4096", "--model_alias", model, "--interrupt_requests", "False", *flags]
    if threads is not None:
        command += ["--n_threads", str(threads)]
    pinned = ["taskset", "-c", str(core % (os.cpu_count() or 1))] if core is not None and shutil.which("taskset") else []
    process = subprocess.Popen(pinned + command, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    server = ServerProcess(process, f"http://127.0.0.1:{port}/v1")
    if wait:
        wait_until_up(server, seconds)
    return server


def wait_until_up(server: ServerProcess, seconds: float = 120) -> None:
    """Until the server lists its models (the weights are loaded)."""
    _wait_http(server.process, f"{server.base}/models", seconds)


def start_fault_server(mode: str, seconds: float = 30) -> ServerProcess:
    """The OpenAI-compatible fault server (``tests/fault_server.py``) in ``mode``."""
    process = subprocess.Popen([sys.executable, str(HERE / "fault_server.py"), mode], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    port = _read_ready(process, f"{mode} fault server", seconds)
    return ServerProcess(process, f"http://127.0.0.1:{port}/v1")


def start_ollama_standin(model: str = "gemma3-270m", *, context_length: int, seconds: float = 120) -> ServerProcess:
    """The Ollama stand-in (``tests/ollama_standin.py``): Ollama's API over the real engine."""
    from pld.backends.local.models import resolve_model_path

    path = resolve_model_path(model)[0]
    process = subprocess.Popen([sys.executable, str(HERE / "ollama_standin.py"), str(path), "--tag", model,
                                "--context-length", str(context_length)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = _read_ready(process, "Ollama stand-in", seconds)
    return ServerProcess(process, f"http://127.0.0.1:{port}")
