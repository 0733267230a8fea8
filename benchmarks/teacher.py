"""Qwen2.5-Coder 0.5B vs 1.5B as PLD's teacher on StereoSet: same student, data, seed and settings.

For each teacher: the compile job (`pld compile`'s settings, label-conditioned traces) with an
empty response cache, so every teacher call is timed for real; the teacher's own labels on the
training rows (label-only, scored; its label-free accuracy); how often its micro-rules name the
gold label they were asked to explain; the candidates, what hygiene kept, the selected rules;
then the compiled program against the zero-shot student on held-out test rows (Macro F1 with a
95 % bootstrap interval, and the paired difference to zero-shot).

Run: python benchmarks/teacher.py [--train 24 --val 48 --test 150 --seed 0]
Needs the `local` and `teacher-1.5b` extras.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import DATA_DIR, save_result

TEACHERS = ("local/qwen2.5-0.5b", "local/qwen2.5-1.5b")
STUDENT = "local/gemma3-270m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS))
    parser.add_argument("--train", type=int, default=24, help="training rows (teacher traces)")
    parser.add_argument("--val", type=int, default=48, help="validation rows (rule selection)")
    parser.add_argument("--test", type=int, default=150, help="held-out test rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None, help="DSPy response cache (default: a fresh empty one)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pld-teacher-"))
    os.environ["DSPY_CACHEDIR"] = args.cache_dir or str(scratch / "cache")  # read when dspy is imported

    from pld.artifacts.artifact import load
    from pld.config import JOB_DEFAULTS, CompileSettings
    from pld.jobs import compile_task, evaluate_task

    zero = evaluate_task("stereoset", STUDENT, split="test", limit=args.test, data_dir=str(DATA_DIR), seed=args.seed)
    gold = _gold(args.test, args.seed)
    settings_run = {k: v for k, v in vars(args).items() if k != "cache_dir"}
    results: dict = {"settings": settings_run, "student": STUDENT, "zero_shot": _scores(gold, zero.predictions), "teachers": {}}
    print(f"zero-shot on {args.test} test rows: Macro F1 {results['zero_shot']['macro_f1']:.3f}", file=sys.stderr)
    for teacher in args.teachers:
        settings = CompileSettings(teacher=teacher, student=STUDENT, n_train=args.train, n_val=args.val,
                                   data_dir=str(DATA_DIR), pld=JOB_DEFAULTS.replace(seed=args.seed, progress=False))
        started = time.perf_counter()
        path = compile_task("stereoset", scratch / teacher.split("/")[-1], settings)
        compile_s = time.perf_counter() - started
        report_json = (path / "report.json").read_text(encoding="utf-8")
        held_out = evaluate_task("stereoset", split="test", limit=args.test, data_dir=str(DATA_DIR), seed=args.seed,
                                 program=load(path))
        results["teachers"][teacher] = {
            "compile_s": round(compile_s, 1),
            **_from_report(report_json),
            **_label_accuracy(teacher, args.train, args.val, args.seed),
            "test": _scores(gold, held_out.predictions, baseline=zero.predictions),
            "best_candidate_test": _best_candidate(report_json, gold, zero.predictions, args),
        }
        _print(teacher, results["teachers"][teacher])
    save_result("teacher", results)


def _best_candidate(report_json: str, gold: list[str], zero: list[str | None], args: argparse.Namespace) -> dict | None:
    """The first selection round's best rule on the test rows, admitted or not: what the teacher's
    rules carry even when the confidence gate keeps them out of the compiled program."""
    import json

    from pld.jobs import evaluate_task
    from pld.pipeline.render import base_instructions, with_rules
    from pld.tasks import get_task

    report = json.loads(report_json)
    rounds = report.get("selection_rounds") or []
    if not rounds or not rounds[0].get("winner_id"):
        return None
    text = next(c["text"] for c in report["candidate_rules"] if c["id"] == rounds[0]["winner_id"])
    program = get_task("stereoset").make_program()
    ruled = with_rules(program, base_instructions(program), [text])
    run = evaluate_task("stereoset", STUDENT, split="test", limit=args.test, data_dir=str(DATA_DIR), seed=args.seed,
                        program=ruled)
    return {"rule": text, "val_macro_f1": rounds[0].get("val_macro_f1"), "accepted": rounds[0].get("accepted"),
            **_scores(gold, run.predictions, baseline=zero)}


def _gold(n: int, seed: int) -> list[str]:
    from pld.jobs import sample
    from pld.tasks import get_task

    task = get_task("stereoset")
    return [str(ex.label) for ex in sample(task, task.load_splits(str(DATA_DIR), seed=seed).test, n, seed)]


def _from_report(report_json: str) -> dict:
    """Teacher time and what its rules became, from the run's report.json."""
    import json

    from pld.tasks import get_task

    report = json.loads(report_json)
    labels = get_task("stereoset").labels
    traces = report["traces"]
    rejected = report.get("rejected_rules", [])
    candidates = report["candidate_rules"]
    refused_candidates = [r for r in rejected if r["stage"] == "candidate"]
    named = [_named_label(t["micro_rule"], labels) for t in traces]
    phases = report["phases"]
    return {
        "traces": len(traces),
        "traces_s": phases["traces"]["seconds"],
        "synthesis_s": phases["synthesis"]["seconds"],
        "teacher_usage": report["totals"].get("teacher", {}),  # calls and tokens: independent of machine load
        "micro_rules_naming_gold": sum(n == t["gold_label"] for n, t in zip(named, traces)),
        "micro_rules_naming_no_label": sum(n is None for n in named),
        "micro_rules_passing_hygiene": len(traces) - sum(r["stage"] == "micro-rule" for r in rejected),
        "candidates_proposed": len(candidates) + len(refused_candidates),
        "candidates_passing_hygiene": len(candidates),
        "candidate_texts": [c["text"] for c in candidates],
        "refused_candidates": [f"{r['kind']}: {r['text']}" for r in refused_candidates],
        "micro_rules": [t["micro_rule"] for t in traces],
        "selected_rules": [r["text"] for r in report["rules"]],
        "val_macro_f1": {"baseline": report["baseline_val_macro_f1"], "final": report["final_val_macro_f1"]},
    }


def _named_label(rule: str, labels: tuple[str, ...]) -> str | None:
    """The label a micro-rule concludes with: the last label it names ("anti-stereotype" before "stereotype")."""
    pattern = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    found = re.findall(rf"(?<![\w-])({pattern})(?![\w-])", rule, flags=re.I)
    return {label.lower(): label for label in labels}[found[-1].lower()] if found else None


def _label_accuracy(teacher: str, n_train: int, n_val: int, seed: int) -> dict:
    """The teacher's own label for each training and validation row (label-only prompt, labels
    scored): its label-free accuracy, which label-free traces would depend on."""
    import dspy

    from pld.backends.lm import make_lm
    from pld.jobs import sample
    from pld.pipeline.teacher import Teacher
    from pld.pipeline.traces import program_task, render_example
    from pld.tasks import get_task

    task = get_task("stereoset")
    splits = task.load_splits(str(DATA_DIR), seed=seed)
    rows = sample(task, splits.train, n_train, seed) + sample(task, splits.val, n_val, seed)
    judge = Teacher(task.labels)
    description = program_task(task.make_program(), task.label_field, task.labels)
    lm = make_lm(teacher)
    started = time.perf_counter()
    with dspy.context(lm=lm):
        predicted = [judge.predict_label(description, render_example(row)) for row in rows]
    return {"label_only_rows": len(rows),
            "label_only_accuracy": sum(p == row.label for p, row in zip(predicted, rows)) / len(rows),
            "label_only_s": round(time.perf_counter() - started, 1),
            "label_only_counts": {label: predicted.count(label) for label in task.labels}}


def _scores(gold: list[str], predicted: list[str | None], baseline: list[str | None] | None = None,
            resamples: int = 2000) -> dict:
    """Macro F1 with a 95 % percentile bootstrap interval; with ``baseline``, the paired difference too."""
    from sklearn.metrics import f1_score

    from pld.tasks import get_task

    labels = list(get_task("stereoset").labels)
    gold_a = np.array(gold)
    pred_a = np.array([p or "<invalid>" for p in predicted])
    base_a = np.array([p or "<invalid>" for p in baseline]) if baseline is not None else None

    def f1(index: np.ndarray, pred: np.ndarray) -> float:
        return float(f1_score(gold_a[index], pred[index], labels=labels, average="macro", zero_division=0))

    rng = np.random.default_rng(0)
    everything = np.arange(len(gold_a))
    draws = [rng.integers(0, len(gold_a), len(gold_a)) for _ in range(resamples)]
    out = {"n": len(gold), "macro_f1": round(f1(everything, pred_a), 4),
           "ci95": [round(float(q), 4) for q in np.percentile([f1(d, pred_a) for d in draws], [2.5, 97.5])],
           "predicted": {label: int((pred_a == label).sum()) for label in labels}}
    if base_a is not None:
        diffs = [f1(d, pred_a) - f1(d, base_a) for d in draws]
        out["minus_zero_shot"] = round(f1(everything, pred_a) - f1(everything, base_a), 4)
        out["minus_zero_shot_ci95"] = [round(float(q), 4) for q in np.percentile(diffs, [2.5, 97.5])]
        out["answers_changed"] = int((pred_a != base_a).sum())
    return out


def _print(teacher: str, row: dict) -> None:
    test = row["test"]
    print(f"{teacher}: compile {row['compile_s']} s (traces {row['traces_s']} s), label-only accuracy "
          f"{row['label_only_accuracy']:.2f}, micro-rules naming gold {row['micro_rules_naming_gold']}/{row['traces']}, "
          f"candidates {row['candidates_passing_hygiene']}/{row['candidates_proposed']} pass hygiene, "
          f"{len(row['selected_rules'])} selected; test Macro F1 {test['macro_f1']:.3f} {test['ci95']} "
          f"(vs zero-shot {test['minus_zero_shot']:+.3f} {test['minus_zero_shot_ci95']})", file=sys.stderr)
    if best := row["best_candidate_test"]:
        print(f"  best first-round rule, gate ignored: test Macro F1 {best['macro_f1']:.3f} {best['ci95']} "
              f"(vs zero-shot {best['minus_zero_shot']:+.3f} {best['minus_zero_shot_ci95']}): {best['rule']}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
