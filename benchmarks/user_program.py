"""A user's own DSPy program over their own policy data, compiled with PLD's default models.

Nothing here goes through PLD's task registry: the signature, the metric and the data loading are
written as a DSPy user writes them (a ``Literal`` label, ``dspy.Predict``, a plain metric, examples
read from JSONL files). The data are the refund desk's house-policy files, whose labels follow
overrides that the request's wording does not reveal. Per seed, in a fresh process with an empty
response cache: a compile, then zero-shot and the compiled program on a seeded sample of the *test*
file under the student LM the rules were selected with, with the paired Macro F1 gain and its 95 %
interval.

    python benchmarks/user_program.py --seeds 0 1 2 --n-test 150
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from _common import DATA_DIR, RESULTS, ROOT, save_result

LABELS = ("refund", "credit", "deny")
INPUTS = ("membership", "payment", "request")


def read_examples(path: Path) -> list:
    import dspy

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [dspy.Example(**row).with_inputs(*INPUTS) for row in rows]


def run_seed(seed: int, n_test: int, n_val: int) -> dict:
    import dspy

    from pld import PLD
    from pld.metrics import score_labels, slice_accuracy
    from pld.pipeline.gains import macro_f1_interval, paired_gain
    from pld.programs.policy_data import get_domain, policy_folder

    class ReturnDesk(dspy.Signature):
        """Decide a customer's return request: refund the money, give store credit, or deny it."""

        membership: str = dspy.InputField(desc="the customer's membership tier")
        payment: str = dspy.InputField(desc="how the order was paid")
        request: str = dspy.InputField(desc="what the customer wrote")
        decision: Literal["refund", "credit", "deny"] = dspy.OutputField()

    def exact(example, prediction, trace=None):
        return example.decision == prediction.decision

    folder = policy_folder(get_domain("refunds"), DATA_DIR / "policy_refunds")
    rng = random.Random(seed)
    train = rng.sample(read_examples(folder / "train.jsonl"), 200)
    val = rng.sample(read_examples(folder / "validation.jsonl"), n_val)
    test = rng.sample(read_examples(folder / "test.jsonl"), n_test)

    started = time.perf_counter()
    optimizer = PLD(metric=exact, max_traces=12, max_candidates=6, max_rules=3, max_repair_rounds=1, seed=seed)
    compiled = optimizer.compile(dspy.Predict(ReturnDesk), trainset=train, valset=val)
    seconds = time.perf_counter() - started

    def answer(program, example):
        try:
            return program(**example.inputs()).decision
        except dspy.utils.exceptions.AdapterParseError:  # an unparseable answer is a wrong one
            return None

    def answers(program) -> list:
        with dspy.context(lm=compiled.pld_student_lm):
            return [answer(program, example) for example in test]

    zero = answers(dspy.Predict(ReturnDesk))
    ruled = answers(compiled)
    gold = [example.decision for example in test]
    gain = paired_gain(gold, zero, ruled, LABELS, seed=seed)
    report = compiled.pld_report
    print(f"seed {seed}: compile {seconds:.0f} s, {len(report.rules)} rule(s); test n={len(test)} "
          f"gain {gain.describe()}", flush=True)
    return {"seed": seed, "compile_seconds": round(seconds, 1), "n_train": len(train), "n_val": len(val),
            "n_test": len(test), "rules": [rule.text for rule in report.rules],
            "instructions": compiled.predictors()[0].signature.instructions,
            "metric_val_score": report.metric_val_score,
            "zero_shot": {"macro_f1": score_labels(gold, zero, LABELS).macro_f1,
                          "interval": macro_f1_interval(gold, zero, LABELS, seed=seed)},
            "pld": {"macro_f1": score_labels(gold, ruled, LABELS).macro_f1,
                    "interval": macro_f1_interval(gold, ruled, LABELS, seed=seed)},
            "gain": gain.model_dump(),
            "slices": {"zero_shot": slice_accuracy(test, zero, "decision", "slice"),
                       "pld": slice_accuracy(test, ruled, "decision", "slice")},
            # why the compile kept what it kept: its candidates, each round's verdict, confirmation
            "compile_report": report.model_dump(mode="json", include={
                "candidate_rules", "selection_rounds", "selection_stop_reason", "confirmation", "phases"})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-test", type=int, default=150)
    parser.add_argument("--n-val", type=int, default=100,
                        help="validation examples the compile gets (30 %% of them held back to confirm)")
    parser.add_argument("--one-seed", type=int, help=argparse.SUPPRESS)  # the child process's seed
    parser.add_argument("--report-only", action="store_true", help="write USER_PROGRAM.md from the saved results")
    args = parser.parse_args()
    if args.one_seed is not None:
        row = run_seed(args.one_seed, args.n_test, args.n_val)
        (RESULTS / f".user_program-seed{args.one_seed}.json").write_text(json.dumps(row))  # kept if the parent dies
        print(json.dumps(row))
        return
    if not args.report_only:
        path = RESULTS / "user_program.json"
        rows = json.loads(path.read_text())["runs"] if path.exists() else []  # runs of other seeds or sizes are kept
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as cache:  # cold: no response replayed from an earlier run
                env = {**os.environ, "DSPY_CACHEDIR": cache, "PYTHONPATH": str(ROOT)}
                done = subprocess.run([sys.executable, __file__, "--one-seed", str(seed), "--n-test", str(args.n_test),
                                       "--n-val", str(args.n_val)],
                                      env=env, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                sys.exit(f"seed {seed} failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows = sorted([r for r in rows if (r["seed"], r["n_val"]) != (seed, row["n_val"])] + [row],
                          key=lambda r: (r["n_val"], r["seed"]))
            print(f"seed {seed}: {row['gain']}", flush=True)
            save_result("user_program", {"task": "policy_refunds (read as a user's own JSONL files)", "runs": rows})
    write_page(json.loads((RESULTS / "user_program.json").read_text()))


def write_page(results: dict) -> None:
    (RESULTS.parent / "USER_PROGRAM.md").write_text(page_text(results), encoding="utf-8")
    print(f"wrote {RESULTS.parent / 'USER_PROGRAM.md'}")


def page_text(results: dict) -> str:
    lines = ["# A user's own program: PLD's default models on the refund desk's policy data", "",
             "Written by `benchmarks/user_program.py` from `results/user_program.json`. The program is a user's",
             "own `dspy.Signature` with a `Literal` label and `dspy.Predict`, the metric a plain exact-match",
             "function, the data read from JSONL files; `PLD(metric=exact, max_traces=12, max_candidates=6,",
             "max_rules=3, max_repair_rounds=1).compile(program, trainset=200, valset=N)` with no LM given, so",
             "the embedded Qwen2.5-Coder-1.5B is teacher and student. Every compile ran with an empty response",
             "cache; test rows are a seeded sample of the test file, which no compile saw.", "",
             "| seed | validation N (held back) | rules | compile | test n | zero-shot Macro F1 [95 % CI] | PLD Macro F1 [95 % CI] | paired gain [95 % CI] |",
             "|---|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        zero, ruled, gain = run["zero_shot"], run["pld"], run["gain"]
        held = (run.get("compile_report") or {}).get("confirmation") or {}
        lines.append(f"| {run['seed']} | {run['n_val']} ({held.get('n', '?')}) | {len(run['rules'])} | {run['compile_seconds']:.0f} s | {run['n_test']} | "
                     f"{zero['macro_f1']:.3f} [{zero['interval'][0]:.3f}, {zero['interval'][1]:.3f}] | "
                     f"{ruled['macro_f1']:.3f} [{ruled['interval'][0]:.3f}, {ruled['interval'][1]:.3f}] | "
                     f"{gain['gain']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}] |")
    lines += ["", "## Rules kept and policy slices (test accuracy, zero-shot → PLD)", ""]
    for run in results["runs"]:
        lines.append(f"Seed {run['seed']}, validation N = {run['n_val']}:")
        lines += [f"{i}. {rule}" for i, rule in enumerate(run["rules"], 1)] or ["(no rule kept)"]
        lines.append("")
        lines += [f"- slice `{name}` (n={before['n']}): {before['accuracy']:.2f} → "
                  f"{run['slices']['pld'][name]['accuracy']:.2f}"
                  for name, before in run["slices"]["zero_shot"].items()]
        lines.append("")
        report = run.get("compile_report") or {}
        held = report.get("confirmation") or {}
        texts = {c["id"]: c["text"] for c in report.get("candidate_rules", [])}
        for step in report.get("selection_rounds", []):
            if step.get("accepted"):
                gain = step["gain_estimate"]
                lines.append(f"- selection, round {step['round']}: accepted {step['winner_id']} “{texts.get(step['winner_id'], '')}” "
                             f"at position {step['winner_position']}, gain {gain['gain']:+.3f} [{gain['low']:+.3f}, "
                             f"{gain['high']:+.3f}] on {gain['n']} examples")
        if report.get("selection_stop_reason"):
            lines.append(f"- selection stopped: {report['selection_stop_reason']}")
        if held:
            lines.append(f"- confirmation: {held['note']}")
        lines.append("")
    for note in results.get("notes", []):  # prose about the run, kept in the results file beside its figures
        lines += ["", note]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    main()
