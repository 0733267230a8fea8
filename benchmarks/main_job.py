"""Wall time of the README's main job (`pld compile --task stereoset`), with an empty response
cache so nothing is replayed. Goal (issue): under 15 minutes on a 2-core machine.
Run: python benchmarks/main_job.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from _common import DATA_DIR, ROOT, save_result


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "DSPY_CACHEDIR": os.path.join(scratch, "cache")}
        command = ["pld", "compile", "--task", "stereoset", "--out", os.path.join(scratch, "artifact"),
                   "--data-dir", str(DATA_DIR)]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"main job failed:\n{done.stderr[-2000:]}")
    print(f"main job wall time: {seconds:.0f} s ({seconds / 60:.1f} min; goal < 15 min) on {os.cpu_count()} cores")
    save_result("main_job", {"seconds": round(seconds, 1), "cores": os.cpu_count()})


if __name__ == "__main__":
    main()
