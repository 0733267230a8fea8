"""Greedy selection with the real student: racing vs exhaustive scoring of rule lists.

Both modes get the same candidate rules (the committed artifact's candidates, so no teacher is
needed) and the same validation set; each starts with an empty memo and no response cache.
Racing drops a list once its paired gain interval (pld.pipeline.gains) says it cannot be accepted
or cannot beat the stage leader. Goal (issue): racing uses <= 25 % of the student calls of
exhaustive scoring, with the same rules.
Run: python benchmarks/racing.py [--val 240] [--max-rules 3] [--confidence 0.95 0.9]
"""

from __future__ import annotations

import argparse
import sys
import time

import dspy

from _common import DATA_DIR, artifact_candidates, save_result

from pld.budget import CallBudget
from pld.backends.lm import make_lm
from pld.backends.options import LMOptions

DEFAULT_STUDENT = "local/gemma3-270m"  # the model these recorded numbers were measured on
from pld.metrics import macro_f1
from pld.pipeline.render import base_instructions
from pld.rules import CandidateRule
from pld.pipeline.scoring import StudentScorer
from pld.pipeline.selection import greedy_select
from pld.tasks import balanced_sample, get_task


def run(racing: bool, candidates, valset, max_rules: int, confidence: float = 0.95):
    task = get_task("stereoset")
    program = task.make_program()
    lm = make_lm(DEFAULT_STUDENT, LMOptions(cache=False))
    scorer = StudentScorer(program, base_instructions(program), lm, macro_f1("label", task.labels), CallBudget("student"))
    started = time.perf_counter()
    result = greedy_select(scorer, candidates, valset, max_rules=max_rules, racing=racing, confidence=confidence,
                           progress=False)
    return result, scorer.queries, time.perf_counter() - started


def synthetic(val: int, confidences: list[float]) -> None:
    """The same comparison on a deterministic student with graded rules (tests/test_racing.py):
    no model, so it shows how the saving grows with the validation set."""
    from tests.fakes import GRADED_RULES, ToySignature, function_lm, graded_student, toy_items

    program = dspy.Predict(ToySignature)
    candidates = [CandidateRule(id=f"R{k}", text=t, source="cluster", cluster_size=1, example_keys=(), micro_rules=())
                  for k, t in enumerate(GRADED_RULES)]
    rows = {}
    for mode, racing, level in [("exhaustive", False, 0.95)] + [(f"racing {c:.0%}", True, c) for c in confidences]:
        lm, engine = function_lm(graded_student, "student")
        scorer = StudentScorer(program, base_instructions(program), lm, macro_f1("label", ["pos", "neg"]),
                               CallBudget("student"))
        result = greedy_select(scorer, list(reversed(candidates)), toy_items(val), max_rules=3, racing=racing,
                               confidence=level, progress=False)
        rows[mode] = {"calls": len(engine.requests), "rules": [r.id for r in result.selected],
                      "val_macro_f1": round(result.val_macro_f1, 4)}
        ratio = rows[mode]["calls"] / rows["exhaustive"]["calls"]
        print(f"synthetic val={val} {mode:12s} {rows[mode]['calls']:6d} calls ({ratio:.2f}), rules {rows[mode]['rules']}, "
              f"Macro F1 {result.val_macro_f1:.4f}")
    save_result(f"racing_synthetic_{val}", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--val", type=int, default=240)
    parser.add_argument("--max-rules", type=int, default=3)
    parser.add_argument("--confidence", type=float, nargs="+", default=[0.95], help="confidence levels to race at")
    parser.add_argument("--synthetic", type=int, nargs="*", default=None, metavar="VAL",
                        help="run on the deterministic graded student with these validation sizes instead")
    args = parser.parse_args()
    if args.synthetic is not None:
        for val in args.synthetic or [120, 480]:
            synthetic(val, args.confidence)
        return
    task = get_task("stereoset")
    valset = balanced_sample(task.load_splits(DATA_DIR).val, args.val, "label", seed=2)
    candidates = [CandidateRule(id=f"C{i + 1}", text=text, source="cluster", cluster_size=1, example_keys=(),
                                micro_rules=()) for i, text in enumerate(artifact_candidates())]
    outcome = {}
    modes = [("exhaustive", False, 0.95)] + [(f"racing {c:.0%}", True, c) for c in args.confidence]
    for mode, racing, level in modes:
        result, calls, seconds = run(racing, candidates, valset, args.max_rules, level)
        outcome[mode] = {"calls": calls, "seconds": round(seconds, 1), "rules": [r.id for r in result.selected],
                         "val_macro_f1": round(result.val_macro_f1, 4), "baseline_examples": result.baseline_examples,
                         "stop": result.stop_reason,
                         "rounds": [{"winner": r.winner_id, "gain": r.gain_estimate.describe() if r.gain_estimate else None,
                                     "dropped": sum(bool(t.dropped) for t in r.trials), "trials": len(r.trials)}
                                    for r in result.rounds]}
        print(f"{mode:10s} {calls:5d} student calls, {seconds:6.1f} s, rules {outcome[mode]['rules']}, "
              f"Macro F1 {result.val_macro_f1:.4f}, baseline scored on {result.baseline_examples} of {len(valset)}")
    base = outcome["exhaustive"]
    for mode, row in outcome.items():
        if mode == "exhaustive":
            continue
        row["calls_ratio"] = round(row["calls"] / base["calls"], 3)
        row["same_rules"] = row["rules"] == base["rules"]
        # Without rules the program is the baseline, which racing may have scored on fewer examples.
        same_f1 = (row["val_macro_f1"] == base["val_macro_f1"] if row["rules"] or row["baseline_examples"] == len(valset)
                   else f"n/a: no rules, baseline scored on {row['baseline_examples']} examples")
        print(f"{mode}: calls {row['calls_ratio']:.2f} of exhaustive (goal <= 0.25), time "
              f"{row['seconds'] / base['seconds']:.2f}, same rules {row['same_rules']}, same Macro F1 {same_f1}")
    save_result("racing" if len(valset) == 240 else f"racing_{len(valset)}", {"val": len(valset), "candidates": len(candidates), **outcome})


if __name__ == "__main__":
    main()
