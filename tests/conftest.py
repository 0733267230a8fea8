"""Shared fixtures: an isolated DSPy cache and the official data folder beside the repository."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"the official data files are not at {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(autouse=True, scope="session")
def _isolated_dspy_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    import dspy

    cache = tmp_path_factory.mktemp("dspy_cache")
    dspy.configure_cache(enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(cache))


FAULT_SERVER = Path(__file__).with_name("fault_server.py")
Serve = Callable[[str], str]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start real fault servers (tests/fault_server.py) by mode; each answers at the returned
    base URL (``.../v1``) and is killed when the test ends."""
    processes: list[subprocess.Popen] = []

    def start(mode: str) -> str:
        process = subprocess.Popen([sys.executable, str(FAULT_SERVER), mode], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        processes.append(process)
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("ready "):
            pytest.fail(f"the {mode} fault server did not start")
        return f"http://127.0.0.1:{int(line.split()[1])}/v1"

    try:
        yield start
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OpenAI key or proxy from the environment: the servers under test are on loopback."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


class LlamaServer:
    """A real llama.cpp server (``python -m llama_cpp.server``) over the embedded Gemma 3 270M on loopback,
    pinned to one core with one thread, so that two of them share these cores fairly."""

    def __init__(self, core: int):
        import shutil
        import socket

        import httpx

        from pld.backends.local.models import resolve_model_path

        path, _ = resolve_model_path("gemma3-270m")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1",
                   "--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--model_alias", "gemma3-270m",
                   "--interrupt_requests", "False"]
        pinned = ["taskset", "-c", str(core % (os.cpu_count() or 1))] if shutil.which("taskset") else []
        self.process = subprocess.Popen(pinned + command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}/v1"
        self._httpx = httpx

    def wait_ready(self, seconds: float = 90) -> None:
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self._httpx.get(f"{self.base}/models", timeout=1).status_code == 200:
                    return
            except self._httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        pytest.fail(f"the llama.cpp server at {self.base} did not start in {seconds:g} s")

    def stop(self) -> None:
        self.process.kill()  # SIGTERM waits for the current generation; a test has no time for that
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def llama_servers() -> Iterator[Callable[[int], list[LlamaServer]]]:
    """Start real llama.cpp servers, ``n`` at a time (loaded in parallel, each on its own core); all
    are killed when the module's tests end."""
    pytest.importorskip("llama_cpp.server")
    started: list[LlamaServer] = []

    def start(n: int) -> list[LlamaServer]:
        servers = [LlamaServer(core=len(started) + i) for i in range(n)]
        started.extend(servers)
        for server in servers:
            server.wait_ready()
        return servers

    try:
        yield start
    finally:
        for server in started:
            if server.process.poll() is None:
                server.stop()


COMMITTED_ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "stereoset-gemma3-270m"
HAND_RULES = ("If the filled-in word makes no sense in the sentence, answer unrelated.",
              "If the sentence repeats a common belief about the target, answer stereotype.")


def copy_with_rules(destination: Path) -> Path:
    """A copy of the committed main-job artifact that holds rules. The main job keeps only rules that
    held-back examples confirm, so it may hold none; then two are set by hand, as `pld edit` does
    (the backup that an edit keeps is removed, so the copy starts without one)."""
    import shutil

    from pld.artifacts.artifact import read_manifest
    from pld.artifacts.atomic import previous_path
    from pld.artifacts.edit import edit_rules

    shutil.copytree(COMMITTED_ARTIFACT, destination)
    if not read_manifest(destination).rules:
        edit_rules(destination, list(HAND_RULES))
        shutil.rmtree(previous_path(destination))
    return destination
