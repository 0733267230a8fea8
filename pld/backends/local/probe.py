"""Does the installed llama.cpp build run on this CPU? Asked in a child process, so a native crash
(SIGSEGV, SIGILL) is reported with its fix instead of killing the caller.

llama-cpp-python compiles llama.cpp with ``-march=native`` unless told otherwise; such a build
can crash in its first decode on another CPU, or on a virtualised one whose advertised features
(AVX-512, AMX) do not all work. The probe loads a model and decodes a few tokens in a child; a
passing probe is remembered per (engine build, CPU, model), so later processes pay only a stat.

The child imports only ``llama_cpp`` (not ``pld``, whose import pulls in DSPy), to stay cheap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pld.errors import BackendError

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 180.0
SKIP_ENV = "PLD_SKIP_ENGINE_PROBE"  # set to 1 to trust the engine without a child probe


def rebuild_command() -> str:
    """The one command that replaces the installed engine with a portable build (no cached wheel)."""
    return (f'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir --no-deps '
            f'"llama-cpp-python=={engine_version() or "<version>"}"')


@dataclass(frozen=True)
class ProbeResult:
    """What the child saw: the build's compiled CPU features, tokens decoded, and how fast."""

    ok: bool
    message: str
    system_info: str = ""
    tokens: int = 0
    seconds: float = 0.0


def engine_library() -> Path | None:
    """The llama.cpp shared library of the installed llama-cpp-python, found without loading it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    for name in ("libggml-cpu.so", "libllama.so", "libllama.dylib", "llama.dll"):
        if (lib / name).is_file():
            return lib / name
    return None


def engine_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return None


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as the kernel reports them (Linux); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_summary() -> str:
    """A short CPU description for manifests and reports: architecture plus wide-vector features."""
    flags = cpu_flags()
    notable = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma", "f16c", "asimd", "sve"))
    return f"{platform.machine()} " + (" ".join(notable) if notable else "(no wide-vector flags listed)")


def engine_build() -> dict[str, str]:
    """The installed engine as a manifest records it: version, what it was compiled for, this CPU.

    Label choices near a tie depend on the SIMD code path: on one machine the same 48 StereoSet
    validation examples scored Macro F1 0.229 with the portable (AVX2) build and 0.285 with a
    -march=native (AVX-512) build, 6 labels apart. A score is reproducible only on the same build.
    """
    import llama_cpp  # loaded already whenever an embedded model ran

    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    compiled = [part.split("=")[0].strip() for part in info.replace("CPU :", "").split("|") if part.strip().endswith("= 1")]
    return {"llama_cpp_python": engine_version() or "unknown", "compiled_for": " ".join(compiled), "cpu": cpu_summary()}


def _probe_key(model_path: Path) -> str | None:
    library = engine_library()
    if library is None:
        return None
    stat = library.stat()
    parts = [str(library), str(stat.st_size), str(stat.st_mtime_ns), platform.machine(),
             ",".join(sorted(cpu_flags())), str(model_path.resolve())]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


def _stamp(key: str) -> Path:
    from pld.backends.local.models import cache_dir

    return cache_dir() / "probes" / f"{key}.json"


def run_probe(argv: list[str], *, timeout: float = PROBE_TIMEOUT_S, what: str = "the embedded engine") -> ProbeResult:
    """Run a probe child and turn how it ended into a result with a one-line message and fix."""
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"{what} did not finish a few-token decode in {timeout:.0f} s "
                                  "(another process using every core?); run `pld doctor` when the machine is idle.")
    seconds = time.perf_counter() - started
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return ProbeResult(False, f"{what} crashed with {name} in its first decode: llama.cpp was built for another "
                                  f"CPU (a -march=native build). Fix: {rebuild_command()}", seconds=seconds)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return ProbeResult(False, f"{what} failed to load or decode (exit {done.returncode}): {tail}", seconds=seconds)
    payload = json.loads(lines[-1])
    return ProbeResult(True, f"decoded {payload['tokens']} tokens", system_info=payload.get("system_info", ""),
                       tokens=int(payload["tokens"]), seconds=seconds)


def probe_model(model_path: Path, *, timeout: float = PROBE_TIMEOUT_S) -> ProbeResult:
    """Load ``model_path`` and decode a few tokens in a child process."""
    argv = [sys.executable, "-c", _CHILD, str(model_path), str(min(2, os.cpu_count() or 1))]
    return run_probe(argv, timeout=timeout, what=f"llama.cpp with {model_path.name}")


def ensure_engine_runs(model_path: Path) -> None:
    """Raise ``BackendError`` with the fix if the engine crashes on this CPU; remembered once passed."""
    if os.environ.get(SKIP_ENV) == "1":
        return
    key = _probe_key(model_path)
    if key is None:
        return  # llama_cpp is missing: loading reports it with the install hint
    stamp = _stamp(key)
    if stamp.is_file():
        return
    logger.info("checking the embedded engine on this CPU (once per build): %s", model_path.name)
    result = probe_model(model_path)
    if not result.ok:
        raise BackendError(result.message)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    partial = stamp.with_suffix(f".partial-{os.getpid()}")
    partial.write_text(json.dumps({"system_info": result.system_info, "tokens": result.tokens,
                                   "seconds": round(result.seconds, 3)}), encoding="utf-8")
    os.replace(partial, stamp)


# Load the model, decode a few tokens, print one JSON line; nothing but llama_cpp is imported.
_CHILD = """
import json, sys
import llama_cpp
llama = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=int(sys.argv[2]), logits_all=False, verbose=False)
result = llama.create_completion("The capital of France is", max_tokens=4, temperature=0.0)
info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip()
print(json.dumps({"tokens": int(result["usage"]["completion_tokens"]), "system_info": info}), flush=True)
"""
