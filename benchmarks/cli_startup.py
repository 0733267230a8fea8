"""Startup time of the quick commands: `pld --help`, `pld compile --help` and `pld show ARTIFACT`,
against a bare interpreter (`python -c "import argparse"`) and `python -c "import dspy"`, what the
quick commands paid before they stopped importing DSPy. Median and fastest of N runs, each a fresh
process; on busy cores the fastest run is the steadier figure (other jobs only ever add time).
Run: python benchmarks/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ARTIFACT, ROOT, save_result


def _pld() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m pld.cli``."""
    script = Path(sys.executable).with_name("pld")
    found = str(script) if script.exists() else shutil.which("pld")
    return [found] if found else [sys.executable, "-m", "pld.cli"]


def timings(command: list[str], runs: int) -> tuple[float, float]:
    """(median, fastest) wall seconds of ``runs`` fresh processes."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    commands = {
        "python -c 'import argparse'": [sys.executable, "-c", "import argparse"],
        "pld --help": [*_pld(), "--help"],
        "pld compile --help": [*_pld(), "compile", "--help"],
        f"pld show {ARTIFACT.relative_to(ROOT)}": [*_pld(), "show", str(ARTIFACT)],
        "python -c 'import dspy'": [sys.executable, "-c", "import dspy"],
    }
    timings(commands["pld --help"], 1)  # warm the file cache
    measured = {name: timings(command, runs) for name, command in commands.items()}
    seconds = {name: median for name, (median, _) in measured.items()}
    fastest = {name: low for name, (_, low) in measured.items()}
    baseline, baseline_fastest = seconds["python -c 'import argparse'"], fastest["python -c 'import argparse'"]
    for name, value in seconds.items():
        print(f"{name:<48} median {value * 1000:5.0f} ms ({value / baseline:5.1f}x), fastest "
              f"{fastest[name] * 1000:5.0f} ms ({fastest[name] / baseline_fastest:5.1f}x the bare interpreter)")
    print(f"{runs} runs each, {os.cpu_count()} cores", flush=True)
    save_result("cli_startup", {"runs": runs, "cores": os.cpu_count(),
                                "seconds": {name: round(value, 3) for name, value in seconds.items()},
                                "fastest_seconds": {name: round(value, 3) for name, value in fastest.items()},
                                "ratio_to_bare_python": {name: round(value / baseline, 2)
                                                         for name, value in seconds.items()}})


if __name__ == "__main__":
    main()
