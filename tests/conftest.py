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
