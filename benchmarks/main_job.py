"""The README's main job, measured: `pld compile` (cold: an empty response cache, so nothing is
replayed) per seed, then the compiled program and zero-shot on the same seeded sample of the task's
*test* split, which no compile sees: Macro F1 with 95 % intervals, the paired gain with its
interval, and accuracy on each policy slice (the override that changed the gold label).

    python benchmarks/main_job.py --seeds 0 1 2 --n-test 150
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _common import DATA_DIR, RESULTS, ROOT, code_version, cpu_name, save_result

# The test evaluations read an empty response cache too: nothing replayed from an earlier run.
os.environ["DSPY_CACHEDIR"] = tempfile.mkdtemp(prefix="pld-main-job-cache-")

from pld import load
from pld import macro_f1
from pld.config import JOB_DEFAULTS
from pld.evaluate import evaluate_program
from pld.jobs import sample
from pld.metrics import slice_accuracy
from pld.pipeline.gains import macro_f1_interval, paired_gain
from pld.tasks import get_task


def compile_cold(task: str, seed: int, out: str, scratch: str) -> float:
    env = {**os.environ, "DSPY_CACHEDIR": os.path.join(scratch, f"cache-{seed}")}
    command = [sys.executable, "-m", "pld.cli", "compile", "--task", task, "--seed", str(seed), "--out", out,
               "--data-dir", str(DATA_DIR)]  # the README command, with this interpreter
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"main job failed (seed {seed}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="policy_support")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-test", type=int, default=150)
    parser.add_argument("--report-only", action="store_true", help="write MAIN_JOB.md from the saved results")
    parser.add_argument("--keep-artifact", metavar="DIR",
                        help="copy the first seed's artifact here (the repository's committed main-job artifact)")
    parser.add_argument("--evaluate", metavar="ARTIFACT", help="measure this cold-compiled artifact (first --seeds "
                                                                "seed) and merge its row into the saved results")
    parser.add_argument("--compile-seconds", type=float, default=0.0, help="with --evaluate: its cold compile time")
    parser.add_argument("--label", default=None,
                        help="the code version of the new rows (default: the commit); rows of other seeds are kept")
    parser.add_argument("--earlier-label", default="earlier", help="the version of kept rows that name none")
    args = parser.parse_args()
    if args.evaluate:
        add_measured(args)
        return
    if args.report_only:
        write_page(json.loads((RESULTS / "main_job.json").read_text()))
        return
    task = get_task(args.task)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            out = os.path.join(scratch, f"artifact-{seed}")
            seconds = compile_cold(args.task, seed, out, scratch)
            if args.keep_artifact and seed == args.seeds[0]:
                shutil.rmtree(args.keep_artifact, ignore_errors=True)
                shutil.copytree(out, args.keep_artifact)
            merge(args, measure(task, seed, out, seconds, args.n_test))  # saved per seed: a stop keeps the rest


def measure(task, seed: int, artifact: str, seconds: float, n_test: int) -> dict:
    """One seed's row: the compiled program and zero-shot on the seeded test sample, same student,
    and what the compile spent (seconds and calls per phase, from its report)."""
    program = load(artifact)
    report = json.loads(open(os.path.join(artifact, "report.json"), encoding="utf-8").read())
    rules = [predictor.signature.instructions for predictor in program.predictors()]
    examples = sample(task, task.load_splits(DATA_DIR, seed=seed).test, n_test, seed)
    student = program.predictors()[0].lm  # the artifact's student, with the decoding its rules were chosen under
    metric = macro_f1(task.label_field, task.labels)
    compiled = evaluate_program(program, examples, student, metric, progress=f"PLD seed {seed}")
    zero = evaluate_program(task.make_program(), examples, student, metric, progress=f"zero-shot seed {seed}")
    gold = [str(example[task.label_field]) for example in examples]
    gain = paired_gain(gold, zero.predictions, compiled.predictions, task.labels, seed=seed)
    row = {"seed": seed, "compile_seconds": round(seconds, 1), "n_test": len(examples),
           "rules": program.pld_manifest.rules if hasattr(program, "pld_manifest") else None,
           "instructions": rules[0] if rules else "",
           "zero_shot": {"macro_f1": zero.scores.macro_f1,
                         "interval": macro_f1_interval(gold, zero.predictions, task.labels, seed=seed)},
           "pld": {"macro_f1": compiled.scores.macro_f1,
                   "interval": macro_f1_interval(gold, compiled.predictions, task.labels, seed=seed)},
           "gain": gain.model_dump(), **compile_costs(report)}
    if task.slice_field:
        row["slices"] = {"zero_shot": slice_accuracy(examples, zero.predictions, task.label_field, task.slice_field),
                         "pld": slice_accuracy(examples, compiled.predictions, task.label_field, task.slice_field)}
    print(f"seed {seed}: compile {seconds:.0f} s; test n={len(examples)} zero-shot "
          f"{zero.scores.macro_f1:.3f}, PLD {compiled.scores.macro_f1:.3f}, gain {gain.describe()}")
    for name, before in row.get("slices", {}).get("zero_shot", {}).items():
        after = row["slices"]["pld"][name]
        print(f"    slice {name:15} n={before['n']:3}  accuracy {before['accuracy']:.2f} -> {after['accuracy']:.2f}")
    sys.stdout.flush()
    return row


def compile_costs(report: dict) -> dict:
    """Seconds and calls per phase, and each candidate's source and number of examples, from a report."""
    return {"phases": {name: {"seconds": phase["seconds"],
                              **{f"{role}_calls": usage["calls"] for role, usage in phase["usage"].items()}}
                       for name, phase in report["phases"].items()},
            "candidates": [{"id": c["id"], "source": c["source"], "examples": len(c["example_keys"])}
                           for c in report["candidate_rules"]]}


def add_measured(args: argparse.Namespace) -> None:
    """One seed measured from an artifact already compiled cold (its wall time given)."""
    merge(args, measure(get_task(args.task), args.seeds[0], args.evaluate, args.compile_seconds, args.n_test))


def merge(args: argparse.Namespace, row: dict) -> None:
    """Save ``row`` into the results, replacing its seed's; rows of other seeds are kept, each saying
    which code measured it."""
    label = args.label or code_version()
    row["code"] = label
    row["cpu"] = cpu_name()  # compile times compare only on one machine
    path = RESULTS / "main_job.json"
    payload = json.loads(path.read_text()) if path.exists() else {"task": args.task, "rows": []}
    payload.update(task=args.task, cores=os.cpu_count(), max_traces=JOB_DEFAULTS.max_traces)
    kept = [{**old, "code": old.get("code", args.earlier_label)} for old in payload["rows"] if old["seed"] != row["seed"]]
    payload["rows"] = sorted([row, *kept], key=lambda r: r["seed"])
    save_result("main_job", payload)
    write_page(payload)


def write_page(payload: dict) -> None:
    (ROOT / "benchmarks" / "MAIN_JOB.md").write_text(page_text(payload), encoding="utf-8")


def page_text(payload: dict) -> str:
    """benchmarks/MAIN_JOB.md: every figure from the saved results."""
    rows = payload["rows"]
    lines = ["# The README's main job, measured", "",
             f"`pld compile` (task `{payload['task']}`, defaults: Qwen2.5-Coder-1.5B as teacher and student, 200 "
             f"training examples of which {payload.get('max_traces', 12)} are traced, 100 validation examples: 70 select, 30 confirm), run cold "
             "(an empty response cache) once per seed on "
             f"{payload['cores']} CPU cores; then the compiled program and zero-shot on the same seeded, "
             "label-balanced sample of the **test** split, which no compile sees. Written by "
             "`python benchmarks/main_job.py` from `results/main_job.json`.", "",
             "| seed | code | CPU | compile (s) | test rows | zero-shot Macro F1 [95% CI] | PLD Macro F1 [95% CI] | "
             "paired gain [95% CI] | rules kept |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        zero, pld_, gain = row["zero_shot"], row["pld"], row["gain"]
        lines.append(f"| {row['seed']} | {row.get('code', 'this run')} | {row.get('cpu', 'not recorded')} | "
                     f"{row['compile_seconds']:.0f} | {row['n_test']} | "
                     f"{zero['macro_f1']:.3f} "
                     f"[{zero['interval'][0]:.3f}, {zero['interval'][1]:.3f}] | {pld_['macro_f1']:.3f} "
                     f"[{pld_['interval'][0]:.3f}, {pld_['interval'][1]:.3f}] | {gain['gain']:+.3f} "
                     f"[{gain['low']:+.3f}, {gain['high']:+.3f}], p={gain['p_value']:.3g} | "
                     f"{len(row['rules'] or [])} |")
    lines += ["", "Policy recovery: accuracy on each override's slice (rows whose gold label the override changed), "
              "zero-shot → PLD.", "", "| seed | slice | rows | zero-shot | PLD | change |", "|---|---|---|---|---|---|"]
    for row in rows:
        for name, before in row.get("slices", {}).get("zero_shot", {}).items():
            after = row["slices"]["pld"][name]
            lines.append(f"| {row['seed']} | {name} | {before['n']} | {before['accuracy']:.2f} | "
                         f"{after['accuracy']:.2f} | {after['accuracy'] - before['accuracy']:+.2f} |")
    costed = [row for row in rows if "phases" in row]
    if costed:
        names = list(dict.fromkeys(name for row in costed for name in row["phases"]))
        lines += ["", "Where a compile's time goes (seconds, and student / teacher calls, per phase; rows measured "
                  "before this was recorded have none):", "",
                  "| seed | " + " | ".join(names) + " | candidates (merged from several examples) |",
                  "|---|" + "---|" * len(names) + "---|"]
        for row in costed:
            cells = []
            for name in names:
                phase = row["phases"].get(name, {})
                calls = " / ".join(str(phase.get(f"{role}_calls", 0)) for role in ("student", "teacher"))
                cells.append(f"{phase.get('seconds', 0):.0f} s ({calls})")
            merged = [c for c in row["candidates"] if c["examples"] > 1]
            shown = ", ".join(f"{c['id']} {c['source']} of {c['examples']}" for c in merged) or "none"
            lines.append(f"| {row['seed']} | " + " | ".join(cells) + f" | {len(row['candidates'])} ({shown}) |")
    lines += ["", "Rules kept, per seed:", ""]
    for row in rows:
        texts = [rule["text"] for rule in row["rules"] or []]
        lines.append(f"- seed {row['seed']}: " + ("; ".join(f"“{text}”" for text in texts) if texts else "none"))
    for note in payload.get("notes", []):  # prose about the run, kept in the results file beside its figures
        lines += ["", note]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
