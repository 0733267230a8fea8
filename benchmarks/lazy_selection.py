"""Lazy greedy selection: what skipping futile candidates in later rounds saves, and what it costs.

Selection skips, in later rounds, a candidate whose every list racing dropped as futile (its gain's
upper end below ``min_gain``); ``retry_futile=True`` scores it again in every round. Both settings run
the same compiles with the deterministic students of ``null_acceptance.py`` (no rule helps; each rule
redraws a share of the answers) and ``confirmation_power.py`` (one training example's rule is true).
Per row: the student calls greedy selection made (mean, and the ratio lazy / eager over the same
compiles), how many compiles returned the true rule, and how many returned any other rule; for the
lazy row, in how many compiles both modes had the same outcome (those two flags, not the rule texts).
Seconds are recorded but mean little when the run shares the cores.

    python benchmarks/lazy_selection.py --compiles 100

``--real``: greedy selection alone with the real default student (Qwen2.5-Coder-1.5B, no response
cache), lazy and eager in turn, over the candidate rules of the committed main-job artifact on the
main job's 70 selection examples (seed 0): student calls, seconds and the rules each returns.

    python benchmarks/lazy_selection.py --real
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import dspy

from _common import DATA_DIR, ROOT, save_result
from confirmation_power import MARK, student_with_a_true_rule, teacher_with_a_true_rule, wilson
from null_acceptance import LABELS, NullSignature, examples, null_student, null_teacher

from tests.fakes import function_lm  # noqa: E402 - the deterministic engine the tests use

from pld import PLD, macro_f1  # noqa: E402

HARNESSES = {
    "no rule helps (flip 0.3)": (lambda seed: null_student(0.3, seed), null_teacher),
    "one true rule (effect 0.4)": (lambda seed: student_with_a_true_rule(0.4, seed), teacher_with_a_true_rule),
}


def compile_once(harness: str, seed: int, retry_futile: bool, n_val: int) -> dict:
    make_student, teacher_fn = HARNESSES[harness]
    student, _ = function_lm(make_student(seed), f"lazy-student-{seed}")
    teacher, _ = function_lm(teacher_fn, "lazy-teacher")
    optimizer = PLD(teacher_lm=teacher, student_lm=student, metric=macro_f1("label", LABELS), max_rules=3,
                    max_candidates=6, max_repair_rounds=1, seed=seed, progress=False, retry_futile=retry_futile)
    report = optimizer.compile(dspy.Predict(NullSignature), trainset=examples(12, seed, 0),
                               valset=examples(n_val, seed, 1000)).pld_report
    usage = report.phases["selection"].usage
    calls = sum(entry.get("calls", 0) for role, entry in usage.items() if "student" in role)
    return {"selection_calls": calls, "true": any(MARK in r.text for r in report.rules),
            "other": any(MARK not in r.text for r in report.rules)}


MAIN_ARTIFACT = ROOT / "artifacts" / "policy_support-qwen2.5-1.5b"


def real(seed: int = 0) -> None:
    """Lazy and eager selection with the real student on the main job's candidates and selection set."""
    import json

    from pld import LMOptions, make_lm
    from pld.backends.options import DEFAULT_STUDENT
    from pld.budget import CallBudget
    from pld.config import COMPILE_DEFAULTS, JOB_DEFAULTS
    from pld.jobs import sample
    from pld.pipeline.confirm import split_for_confirmation
    from pld.pipeline.render import base_instructions
    from pld.pipeline.scoring import StudentScorer
    from pld.pipeline.selection import greedy_select
    from pld.rules import CandidateRule
    from pld.tasks import get_task

    task = get_task("policy_support")
    valset = sample(task, task.load_splits(DATA_DIR, seed=seed).val, COMPILE_DEFAULTS.n_val, seed)
    select_val, _ = split_for_confirmation(valset, task.label_field, fraction=JOB_DEFAULTS.confirm_fraction,
                                           min_examples=JOB_DEFAULTS.min_confirm, seed=seed)
    report = json.loads((MAIN_ARTIFACT / "report.json").read_text(encoding="utf-8"))
    candidates = [CandidateRule.model_validate(c) for c in report["candidate_rules"]]
    outcome = {}
    for mode, retry in (("eager (retry_futile)", True), ("lazy (default)", False)):
        program = task.make_program()
        lm = make_lm(DEFAULT_STUDENT, LMOptions(cache=False))
        scorer = StudentScorer(program, base_instructions(program), lm, macro_f1(task.label_field, task.labels),
                               CallBudget("student"))
        started = time.perf_counter()
        result = greedy_select(scorer, candidates, select_val, max_rules=JOB_DEFAULTS.max_rules, seed=seed,
                               progress=False, retry_futile=retry)
        outcome[mode] = {"calls": scorer.queries, "seconds": round(time.perf_counter() - started, 1),
                         "rules": [r.id for r in result.selected], "val_macro_f1": round(result.val_macro_f1, 4),
                         "stop": result.stop_reason,
                         "rounds": [{"trials": len(r.trials), "not_retried": r.not_retried, "winner": r.winner_id,
                                     "accepted": r.accepted} for r in result.rounds]}
        print(f"{mode:22} {scorer.queries:4d} student calls, {outcome[mode]['seconds']:6.1f} s, rules "
              f"{outcome[mode]['rules']}, validation Macro F1 {result.val_macro_f1:.4f}", flush=True)
    lazy, eager = outcome["lazy (default)"], outcome["eager (retry_futile)"]
    lazy["calls_ratio_to_eager"] = round(lazy["calls"] / eager["calls"], 3)
    lazy["seconds_ratio_to_eager"] = round(lazy["seconds"] / eager["seconds"], 3)
    print(f"lazy / eager: calls {lazy['calls_ratio_to_eager']:.2f}, seconds {lazy['seconds_ratio_to_eager']:.2f}, "
          f"same rules {lazy['rules'] == eager['rules']}")
    save_result("lazy_selection_real", {"task": task.name, "seed": seed, "selection_examples": len(select_val),
                                        "candidates": len(candidates), "student": DEFAULT_STUDENT, **outcome})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiles", type=int, default=100)
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--real", action="store_true", help="the real student on the main job's candidates")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.real:
        real()
        return
    rows = []
    for harness in HARNESSES:
        runs: dict[str, list[dict]] = {}
        for mode, retry in (("lazy (default)", False), ("eager (retry_futile)", True)):
            started = time.perf_counter()
            runs[mode] = [compile_once(harness, seed, retry, args.val) for seed in range(args.compiles)]
            calls = [run["selection_calls"] for run in runs[mode]]
            true, other = sum(run["true"] for run in runs[mode]), sum(run["other"] for run in runs[mode])
            rows.append({"harness": harness, "mode": mode, "compiles": args.compiles,
                         "mean_selection_calls": statistics.fmean(calls), "returned_true": true,
                         "returned_true_interval": list(wilson(true, args.compiles)), "returned_other": other,
                         "returned_other_interval": list(wilson(other, args.compiles)),
                         "seconds": round(time.perf_counter() - started, 1)})
            print(f"{harness:28} {mode:22} selection calls {statistics.fmean(calls):7.1f}  true rule returned "
                  f"{true}/{args.compiles}  other rule returned {other}/{args.compiles}", flush=True)
        lazy, eager = runs["lazy (default)"], runs["eager (retry_futile)"]
        ratio = sum(r["selection_calls"] for r in lazy) / sum(r["selection_calls"] for r in eager)
        same = sum((a["true"], a["other"]) == (b["true"], b["other"]) for a, b in zip(lazy, eager))
        rows[-2]["calls_ratio_to_eager"] = ratio
        rows[-2]["same_outcome_compiles"] = same
        print(f"{'':28} lazy / eager selection calls {ratio:.2f}; same outcome in {same}/{args.compiles}",
              flush=True)
    save_result("lazy_selection", {"val": args.val, "train": 12, "rows": rows})


if __name__ == "__main__":
    main()
