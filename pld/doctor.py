"""``pld doctor``'s checks: is this installation able to do its work, and if not, what fixes it.

Each check returns one ``Check``: a name, whether it passed, what it found, and the exact fix.
Models and servers are probed through their rows of the backend table (``pld.backends.probes``).
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version

from pld.backends.probes import Check, check_embedded_model
from pld.errors import PLDError


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def check_python() -> Check:
    found = f"Python {platform.python_version()} on {platform.machine()}, dspy {_installed('dspy') or 'missing'}"
    if sys.version_info < (3, 11) or _installed("dspy") is None:
        return Check("python", False, found, 'use Python >= 3.11 and `pip install -e ".[local]"`')
    return Check("python", True, found)


def check_engine_build() -> Check:
    """The installed llama.cpp build and this CPU, without loading the library in this process."""
    from pld.backends.local.probe import cpu_summary, engine_library, engine_version, rebuild_command

    engine = engine_version()
    if engine is None or engine_library() is None:
        return Check("llama.cpp engine", False, "llama-cpp-python is not installed",
                     'pip install -e ".[local]" (see README: build flags)')
    return Check("llama.cpp engine", True, f"llama-cpp-python {engine}; CPU {cpu_summary()}",
                 rebuild_command())


def check_server(spec: str, api_base: str | None, *, timeout: float = 10.0) -> Check:
    """One bounded request to the server a spec names, through its row of the backend table:
    reachable, credentials accepted, model served."""
    from pld.backends.options import LMOptions
    from pld.backends.registry import backend_for

    try:
        backend = backend_for(spec, LMOptions(api_base=api_base))
        if backend.doctor is None:
            return Check(spec, True, f"not checked (the {backend.name} backend has no probe)")
        return backend.doctor(spec, api_base, timeout)
    except PLDError as exc:
        return Check(spec, False, str(exc))


def check_data(data_dir: str | None) -> Iterator[Check]:
    """Each task's official files are where the loaders look, and they parse."""
    from pld.tasks import TASKS

    for task in TASKS.values():
        folder = task.data_folder(data_dir)
        missing = [name for name in task.data_files if not (folder / name).is_file()]
        if missing:
            yield Check(f"data {task.name}", False, f"{', '.join(missing)} not in {folder}",
                        "pass --data-dir DIR or set PLD_DATA_DIR to the folder with the official files")
            continue
        try:
            splits = task.load_splits(data_dir)
        except PLDError as exc:
            yield Check(f"data {task.name}", False, str(exc))
            continue
        yield Check(f"data {task.name}", True,
                    f"{len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test in {folder}")


def run_checks(*, models: list[str], servers: list[tuple[str, str | None]], data_dir: str | None,
               timeout: float = 10.0) -> Iterator[Check]:
    """Every check, in the order a user fixes things: Python, engine, models, servers, data."""
    yield check_python()
    if models:
        build = check_engine_build()
        yield build
        if build.ok:
            for name in models:
                yield check_embedded_model(name)
    for spec, api_base in servers:
        yield check_server(spec, api_base, timeout=timeout)
    yield from check_data(data_dir)

