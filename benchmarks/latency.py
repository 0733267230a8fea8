"""Per-query latency of one student: zero-shot vs compiled PLD vs chain of thought, and label
scoring vs grammar-constrained generation on the same prompts (same labels?).

Goals (issue): PLD <= 1.3x zero-shot; CoT >= 5x PLD; scoring faster than grammar, same labels.
Each variant answers the examples in a row, as a served program would (its prompt prefix stays
warm); blocks run forward then backward so load changes on a shared machine affect all alike. Run: python benchmarks/latency.py [--n 24]
"""

from __future__ import annotations

import argparse
import statistics

from _common import DATA_DIR, artifact_rules, save_result

from pld.evaluate import predict_one
from pld.backends.lm import make_lm
from pld.backends.options import LMOptions

DEFAULT_STUDENT = "local/gemma3-270m"  # the model these recorded numbers were measured on
from pld.pipeline.render import base_instructions, with_rules
from pld.tasks import balanced_sample, get_task


def blocks(variants, examples):
    """Each variant answers all examples in a row (its prompt prefix stays warm, as in serving);
    the blocks run in order and then in reverse, so a drift in machine load hits all alike."""
    runs = {name: ([], []) for name, _, _ in variants}
    for sweep in (variants, list(reversed(variants))):
        for name, program, lm in sweep:
            for example in examples:
                prediction, latency = predict_one(program, example, lm)
                runs[name][0].append(None if prediction is None else prediction.get("label"))
                runs[name][1].append(latency)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    task = get_task("stereoset")
    examples = balanced_sample(task.load_splits(DATA_DIR).test, args.n, "label", seed=1)
    scoring = make_lm(DEFAULT_STUDENT, LMOptions(cache=False, label_mode="score"))
    grammar = make_lm(DEFAULT_STUDENT, LMOptions(cache=False, label_mode="grammar"))
    zero_shot = task.make_program()
    pld_program = with_rules(zero_shot, base_instructions(zero_shot), artifact_rules())
    cot = task.make_program("cot")

    variants = [("zero-shot (scoring)", zero_shot, scoring), ("PLD (scoring)", pld_program, scoring),
                ("PLD (grammar)", pld_program, grammar), ("CoT (reasoning + label)", cot, scoring)]
    blocks(variants, examples[:2])  # load the model and warm up before timing
    rows = {}
    for name, (labels, latencies) in blocks(variants, examples).items():
        mean, median = statistics.fmean(latencies), statistics.median(latencies)
        p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
        rows[name] = {"mean_s": mean, "median_s": median, "p95_s": p95, "labels": labels}
        print(f"{name:24s} mean {mean:.3f} s  median {median:.3f} s  p95 {p95:.3f} s")
    zs, pld, pld_g, cot_ = (rows[k]["mean_s"] for k in rows)
    agree = sum(a == b for a, b in zip(rows["PLD (scoring)"]["labels"], rows["PLD (grammar)"]["labels"]))
    summary = {
        "n": len(examples),
        "pld_over_zero_shot": pld / zs,
        "cot_over_pld": cot_ / pld,
        "grammar_over_scoring": pld_g / pld,
        "scoring_grammar_same_label": f"{agree}/{len(rows['PLD (scoring)']['labels'])}",
        "rows": {k: {m: round(v[m], 4) for m in ("mean_s", "median_s", "p95_s")} for k, v in rows.items()},
    }
    print(f"PLD / zero-shot latency: {summary['pld_over_zero_shot']:.2f}x (goal <= 1.3)")
    print(f"CoT / PLD latency:       {summary['cot_over_pld']:.2f}x (goal >= 5)")
    print(f"grammar / scoring:       {summary['grammar_over_scoring']:.2f}x; same label on {summary['scoring_grammar_same_label']}")
    save_result("latency", summary)


if __name__ == "__main__":
    main()
