"""Shared set-up for the benchmark scripts: data, the committed artifact, fresh uncached LMs."""

from __future__ import annotations

import json
import math
import statistics
import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACT = ROOT / "artifacts" / "stereoset-gemma3-270m"
DATA_DIR = Path(os.environ.get("PLD_DATA_DIR", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the benchmarks share the test suite's helpers (tests.servers, tests.fakes)


def save_result(name: str, payload: dict) -> None:
    """Write the numbers a benchmark printed, for the results page."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"saved {RESULTS / name}.json", file=sys.stderr)


def code_version() -> str:
    """The short commit a benchmark row was measured at ("this run" outside a git checkout)."""
    import subprocess

    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip() or "this run"


def cpu_name() -> str:
    """The processor's model name as the kernel reports it: timings differ between machines."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def artifact_rules() -> list[str]:
    return [rule["text"] for rule in json.loads((ARTIFACT / "manifest.json").read_text())["rules"]]


def artifact_candidates() -> list[str]:
    return [c["text"] for c in json.loads((ARTIFACT / "report.json").read_text())["candidate_rules"]]


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval across seeds (the seeds vary the data samples and the optimizers)."""
    from scipy.stats import t

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half
