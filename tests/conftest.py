"""Shared fixtures: an isolated DSPy cache and the official data folder beside the repository."""

from __future__ import annotations

import os
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


Serve = Callable[[str], str]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start real fault servers (tests/fault_server.py) by mode; each answers at the returned
    base URL (``.../v1``) and is stopped when the test ends."""
    from tests.servers import start_fault_server

    started = []

    def start(mode: str) -> str:
        started.append(start_fault_server(mode))
        return started[-1].base

    try:
        yield start
    finally:
        for server in started:
            server.kill()


@pytest.fixture
def no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OpenAI key or proxy from the environment: the servers under test are on loopback."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def llama_servers():
    """Start real llama.cpp servers over the embedded Gemma 3 270M, ``n`` at a time (loaded in
    parallel, each pinned to its own core with one thread, so two share these cores fairly); all are
    killed when the module's tests end."""
    pytest.importorskip("llama_cpp.server")
    from tests.servers import start_llama_server, wait_until_up

    started = []

    def start(n: int):
        servers = [start_llama_server(core=len(started) + i, threads=1, wait=False) for i in range(n)]
        started.extend(servers)
        for server in servers:
            wait_until_up(server, 90)
        return servers

    try:
        yield start
    finally:
        for server in started:
            server.kill()  # SIGTERM waits for the current generation; a test has no time for that


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
