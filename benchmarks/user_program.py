"""A user's own DSPy program over their own policy data, compiled with PLD's default models.

Nothing here goes through PLD's task registry: the signature, the metric and the data loading are
written as a DSPy user writes them (a ``Literal`` label, ``dspy.Predict``, a plain metric, examples
read from JSONL files). The data are a house-policy domain's files (the support desk's tickets or
the refund desk's requests), whose labels follow overrides that the text's wording does not reveal.
Per seed, in a fresh process with an empty response cache: a compile, then zero-shot and the
compiled program on a seeded sample of the *test* file under the student LM the rules were selected
with, with the paired Macro F1 gain and its 95 % interval.

    python benchmarks/user_program.py --domain support --seeds 0 1 2 --n-test 150
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
import typing
from pathlib import Path
from typing import Literal

from _common import DATA_DIR, RESULTS, ROOT, code_version, save_result

DOMAINS = ("support", "refunds")


def user_signature(domain: str):
    """The signature a user of each desk writes: their inputs, and a ``Literal`` over their labels."""
    import dspy

    if domain == "support":
        class SupportQueue(dspy.Signature):
            """Route a customer's support ticket to the queue that should handle it."""

            plan: str = dspy.InputField(desc="the customer's plan")
            channel: str = dspy.InputField(desc="where the ticket came in")
            message: str = dspy.InputField(desc="what the customer wrote")
            queue: Literal["billing", "technical", "priority"] = dspy.OutputField()

        return SupportQueue

    class ReturnDesk(dspy.Signature):
        """Decide a customer's return request: refund the money, give store credit, or deny it."""

        membership: str = dspy.InputField(desc="the customer's membership tier")
        payment: str = dspy.InputField(desc="how the order was paid")
        request: str = dspy.InputField(desc="what the customer wrote")
        decision: Literal["refund", "credit", "deny"] = dspy.OutputField()

    return ReturnDesk


def read_examples(path: Path, inputs: tuple[str, ...]) -> list:
    import dspy

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [dspy.Example(**row).with_inputs(*inputs) for row in rows]


def run_seed(domain: str, seed: int, n_test: int, n_val: int) -> dict:
    import dspy

    from pld import PLD
    from pld.metrics import score_labels, slice_accuracy
    from pld.pipeline.gains import macro_f1_interval, paired_gain
    from pld.programs.policy_data import get_domain, policy_folder

    signature = user_signature(domain)
    inputs = tuple(signature.input_fields)
    (label, field), = signature.output_fields.items()
    labels = typing.get_args(field.annotation)

    def exact(example, prediction, trace=None):
        return example[label] == prediction[label]

    folder = policy_folder(get_domain(domain), DATA_DIR / f"policy_{domain}")
    rng = random.Random(seed)
    train = rng.sample(read_examples(folder / "train.jsonl", inputs), 200)
    val = rng.sample(read_examples(folder / "validation.jsonl", inputs), n_val)
    test = rng.sample(read_examples(folder / "test.jsonl", inputs), n_test)

    started = time.perf_counter()
    optimizer = PLD(metric=exact, max_traces=12, max_candidates=6, max_rules=3, max_repair_rounds=1, seed=seed)
    compiled = optimizer.compile(dspy.Predict(signature), trainset=train, valset=val)
    seconds = time.perf_counter() - started

    def answer(program, example):
        try:
            return program(**example.inputs())[label]
        except dspy.utils.exceptions.AdapterParseError:  # an unparseable answer is a wrong one
            return None

    def answers(program) -> list:
        with dspy.context(lm=compiled.pld_student_lm):
            return [answer(program, example) for example in test]

    zero = answers(dspy.Predict(signature))
    ruled = answers(compiled)
    gold = [example[label] for example in test]
    gain = paired_gain(gold, zero, ruled, labels, seed=seed)
    report = compiled.pld_report
    print(f"seed {seed}: compile {seconds:.0f} s, {len(report.rules)} rule(s); test n={len(test)} "
          f"gain {gain.describe()}", flush=True)
    return {"domain": domain, "seed": seed, "compile_seconds": round(seconds, 1), "n_train": len(train), "n_val": len(val),
            "n_test": len(test), "rules": [rule.text for rule in report.rules],
            "instructions": compiled.predictors()[0].signature.instructions,
            "metric_val_score": report.metric_val_score,
            "zero_shot": {"macro_f1": score_labels(gold, zero, labels).macro_f1,
                          "interval": macro_f1_interval(gold, zero, labels, seed=seed)},
            "pld": {"macro_f1": score_labels(gold, ruled, labels).macro_f1,
                    "interval": macro_f1_interval(gold, ruled, labels, seed=seed)},
            "gain": gain.model_dump(),
            "slices": {"zero_shot": slice_accuracy(test, zero, label, "slice"),
                       "pld": slice_accuracy(test, ruled, label, "slice")},
            # why the compile kept what it kept: its candidates, each round's verdict, confirmation
            "compile_report": report.model_dump(mode="json", include={
                "candidate_rules", "selection_rounds", "selection_stop_reason", "confirmation", "phases"})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", choices=DOMAINS, default="support", help="whose policy data the program reads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-test", type=int, default=150)
    parser.add_argument("--n-val", type=int, default=100,
                        help="validation examples the compile gets (30 %% of them held back to confirm)")
    parser.add_argument("--one-seed", type=int, help=argparse.SUPPRESS)  # the child process's seed
    parser.add_argument("--report-only", action="store_true", help="write USER_PROGRAM.md from the saved results")
    args = parser.parse_args()
    if args.one_seed is not None:
        row = run_seed(args.domain, args.one_seed, args.n_test, args.n_val)
        (RESULTS / f".user_program-{args.domain}-seed{args.one_seed}.json").write_text(json.dumps(row))  # kept if the parent dies
        print(json.dumps(row))
        return
    if not args.report_only:
        path = RESULTS / "user_program.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        rows, notes = saved.get("runs", []), saved.get("notes", [])  # other domains, seeds, sizes are kept
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as cache:  # cold: no response replayed from an earlier run
                env = {**os.environ, "DSPY_CACHEDIR": cache, "PYTHONPATH": str(ROOT)}
                done = subprocess.run([sys.executable, __file__, "--domain", args.domain, "--one-seed", str(seed),
                                       "--n-test", str(args.n_test), "--n-val", str(args.n_val)],
                                      env=env, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                sys.exit(f"seed {seed} failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            row["code"] = code_version()
            rows = sorted([r for r in rows if _key(r) != _key(row)] + [row], key=_key)
            print(f"{args.domain} seed {seed}: {row['gain']}", flush=True)
            save_result("user_program", {"task": "the policy domains' files, read as a user's own JSONL files",
                                         "runs": rows, "notes": notes})
    write_page(json.loads((RESULTS / "user_program.json").read_text()))


def confirmation_mode(run: dict) -> str:
    """How the compile confirmed its rules: rows measured before the two-stage test have no stage one."""
    held = (run.get("compile_report") or {}).get("confirmation") or {}
    return "two-stage" if held.get("evidence") else "held-back alone"


def _key(run: dict) -> tuple:
    """One row per desk, validation size, confirmation test and seed: a rerun under a new test keeps the old row."""
    return run["domain"], run["n_val"], confirmation_mode(run), run["seed"]


def write_page(results: dict) -> None:
    (RESULTS.parent / "USER_PROGRAM.md").write_text(page_text(results), encoding="utf-8")
    print(f"wrote {RESULTS.parent / 'USER_PROGRAM.md'}")


def page_text(results: dict) -> str:
    lines = ["# A user's own program: PLD's default models on a desk's own policy data", "",
             "Written by `benchmarks/user_program.py` from `results/user_program.json`. The program is a user's",
             "own `dspy.Signature` with a `Literal` label and `dspy.Predict` (a support desk's ticket router, or a",
             "returns desk's decision), the metric a plain exact-match function, the data read from JSONL files;",
             "`PLD(metric=exact, max_traces=12, max_candidates=6, max_rules=3, max_repair_rounds=1).compile(program,",
             "trainset=200, valset=N)` with no LM given, so the embedded Qwen2.5-Coder-1.5B is teacher and student.",
             "Every compile ran with an empty response cache; test rows are a seeded sample of the test file,",
             "which no compile saw. The confirmation column says how the held-back examples judged the rules:",
             "alone (the earlier test), or as the second stage of the two-stage test (`pld/pipeline/confirm.py`).", "",
             "| desk | seed | code | confirmation | validation N (held back) | rules | compile | test n | zero-shot Macro F1 [95 % CI] | PLD Macro F1 [95 % CI] | paired gain [95 % CI] |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        zero, ruled, gain = run["zero_shot"], run["pld"], run["gain"]
        held = (run.get("compile_report") or {}).get("confirmation") or {}
        lines.append(f"| {run['domain']} | {run['seed']} | {run.get('code', 'earlier')} | {confirmation_mode(run)} | {run['n_val']} ({held.get('n', '?')}) | {len(run['rules'])} | {run['compile_seconds']:.0f} s | {run['n_test']} | "
                     f"{zero['macro_f1']:.3f} [{zero['interval'][0]:.3f}, {zero['interval'][1]:.3f}] | "
                     f"{ruled['macro_f1']:.3f} [{ruled['interval'][0]:.3f}, {ruled['interval'][1]:.3f}] | "
                     f"{gain['gain']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}] |")
    lines += ["", "## Rules kept and policy slices (test accuracy, zero-shot → PLD)", ""]
    for run in results["runs"]:
        lines.append(f"{run['domain'].capitalize()} desk, seed {run['seed']}, validation N = {run['n_val']}, "
                     f"confirmation {confirmation_mode(run)}:")
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
