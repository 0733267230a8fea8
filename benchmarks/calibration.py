"""Each task's calibration default, chosen on validation rows only.

Contextual calibration (each label's score divided by its score for a content-free input) helps
some students on some tasks and hurts on others, so every task says whether it calibrates by
default (``Task.calibrate``). That choice is made here, on seeded, label-balanced samples of each
task's **validation** split, never on the test rows that the quality pages report as held out:
zero-shot plain and calibrated on the same rows, the paired Macro F1 gain per seed with its 95 %
interval, the mean gain across seeds with a t-interval, and the choice: on only when that interval
lies above 0 (a default changes on a credible gain, never on noise). It writes CALIBRATION.md; the tasks' defaults (``Task.calibrate``) are then set to its
choices.

    python benchmarks/calibration.py --tasks stereoset logiqa contract_nli --seeds 0 1 2 --n 60
"""

from __future__ import annotations

import argparse
import json
import math
import time

from _common import DATA_DIR, RESULTS, ROOT, save_result, t_interval

PAGE = ROOT / "benchmarks" / "CALIBRATION.md"


def measure(task_name: str, student: str, seed: int, n: int) -> dict:
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions
    from pld.evaluate import evaluate_program
    from pld.jobs import sample
    from pld.metrics import macro_f1
    from pld.pipeline.gains import paired_gain
    from pld.tasks import get_task

    task = get_task(task_name)
    examples = sample(task, task.load_splits(DATA_DIR, seed=seed).val, n, seed)
    gold = [str(example[task.label_field]) for example in examples]
    metric = macro_f1(task.label_field, task.labels)
    runs = {}
    for name, calibrate in (("plain", False), ("calibrated", True)):
        lm = make_lm(student, LMOptions(calibrate=calibrate, cache=False))
        started = time.perf_counter()
        report = evaluate_program(task.make_program(), examples, lm, metric, progress=f"{task_name} {name} {seed}")
        runs[name] = {"macro_f1": report.scores.macro_f1, "predictions": report.predictions,
                      "seconds": round(time.perf_counter() - started, 1)}
    gain = paired_gain(gold, runs["plain"]["predictions"], runs["calibrated"]["predictions"], task.labels, seed=seed)
    return {"task": task_name, "seed": seed, "n": len(examples), "plain": runs["plain"]["macro_f1"],
            "calibrated": runs["calibrated"]["macro_f1"], "gain": gain.model_dump(),
            "seconds": runs["plain"]["seconds"] + runs["calibrated"]["seconds"]}


def choices(payload: dict) -> dict[str, bool]:
    """Per task: calibrate by default when the 95 % t-interval of the mean validation gain across
    seeds lies above 0."""
    by_task: dict[str, list[float]] = {}
    for row in payload["rows"]:
        by_task.setdefault(row["task"], []).append(row["gain"]["gain"])
    return {task: bool(t_interval(gains)[1] > 0) for task, gains in by_task.items()}


def page_text(payload: dict) -> str:
    lines = ["# Each task's calibration default, chosen on validation rows", "",
             f"Written by `python benchmarks/calibration.py` from `results/calibration.json`. Student "
             f"`{payload['student']}`; per task and seed {payload['n']} label-balanced rows of the task's "
             "**validation** split (seeded), zero-shot plain and calibrated on the same rows; no test row was "
             "used to choose. Per seed: the paired Macro F1 gain of calibration with its 95 % bootstrap interval; "
             "across seeds: the mean gain with a 95 % t-interval. A task calibrates by default only when that "
             "interval lies above 0.", "",
             "| task | seed | rows | plain | calibrated | gain [95% CI], p |", "|---|---|---|---|---|---|"]
    for row in payload["rows"]:
        gain = row["gain"]
        lines.append(f"| {row['task']} | {row['seed']} | {row['n']} | {row['plain']:.3f} | {row['calibrated']:.3f} | "
                     f"{gain['gain']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}], p={gain['p_value']:.3g} |")
    lines += ["", "| task | seeds | mean gain [95% t-interval] | default |", "|---|---|---|---|"]
    chosen = choices(payload)
    for task in chosen:
        gains = [row["gain"]["gain"] for row in payload["rows"] if row["task"] == task]
        mean, low, high = t_interval(gains)
        interval = "[no interval: one seed]" if math.isnan(low) else f"[{low:+.3f}, {high:+.3f}]"
        lines.append(f"| {task} | {len(gains)} | {mean:+.3f} {interval} | {'on' if chosen[task] else 'off'} |")
    for note in payload.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["stereoset", "logiqa", "contract_nli"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=60, help="validation rows per task and seed")
    parser.add_argument("--student", default="local/gemma3-270m")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        rows = []
        for task in args.tasks:
            for seed in args.seeds:
                rows.append(measure(task, args.student, seed, args.n))
                row = rows[-1]
                print(f"{task} seed {seed}: plain {row['plain']:.3f}, calibrated {row['calibrated']:.3f}, "
                      f"gain {row['gain']['gain']:+.3f} [{row['gain']['low']:+.3f}, {row['gain']['high']:+.3f}] "
                      f"({row['seconds']:.0f} s)", flush=True)
                save_result("calibration", {"student": args.student, "n": args.n, "rows": rows})
    PAGE.write_text(page_text(json.loads((RESULTS / "calibration.json").read_text())), encoding="utf-8")
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
