"""Can a student follow written rules? Each packaged model, each house-policy task: zero-shot vs the
task's *true* policy written into the instructions, on the same test rows; with ``--mined``, also
the rules PLD mines from the training split, each alone and as their decision list.

A student that does not move when told the true policy cannot gain from any rule PLD finds; this
probe is how the default student was chosen. The mined runs show what selection sees: a lone
override rule that makes the student answer its label for every row cannot be kept. Prints Macro
F1 with 95 % intervals, the paired gain with its interval, and accuracy on each policy slice (the
override that decided the gold label).

    python benchmarks/policy_probe.py --models gemma3-270m qwen2.5-0.5b qwen2.5-1.5b --n 60
    python benchmarks/policy_probe.py --models qwen2.5-1.5b --mined
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import dspy

from _common import DATA_DIR, RESULTS, ROOT, code_version, cpu_name, save_result

from pld import LMOptions, make_lm
from pld.evaluate import evaluate_program
from pld.jobs import sample
from pld.metrics import macro_f1, slice_accuracy
from pld.pipeline.gains import macro_f1_interval, paired_gain
from pld.pipeline.mining import decision_list, mine_field_rules
from pld.pipeline.render import base_instructions, with_rules
from pld.pipeline.traces import categorical_fields
from pld.programs.policy_data import get_domain, policy_folder
from pld.tasks import Task, get_task

POLICY_TASKS = ("policy_support", "policy_refunds", "policy_expenses", "policy_banking")
N_TRAIN = 200  # training examples mined, as many as the main job's compile sees


def true_rules(task_name: str) -> list[str]:
    """The numbered lines of the task's recorded policy."""
    task = get_task(task_name)
    folder = policy_folder(get_domain(task_name.removeprefix("policy_")), task.data_folder(DATA_DIR))
    lines = (folder / "policy.md").read_text().splitlines()
    return [line.split(". ", 1)[1] for line in lines if line[:1].isdigit()]


def mined_rule_sets(task: Task, train_split: list[dspy.Example], seed: int) -> dict[str, list[str]]:
    """The rules PLD mines from the seeded training sample, each alone and (two or more) as one list."""
    train = sample(task, train_split, N_TRAIN, seed)
    mined = mine_field_rules(train, task.label_field, sorted(categorical_fields(train)))
    sets = {f"mined {rule.field} = {rule.value}": [rule.text] for rule in mined}
    if len(mined) >= 2:
        sets["mined list"] = [decision_list(mined)]
    return sets


def probe(model: str, task_name: str, n: int, seed: int, *, mined: bool = False) -> dict:
    task = get_task(task_name)
    splits = task.load_splits(DATA_DIR, seed=seed)
    examples = sample(task, splits.test, n, seed)
    lm = make_lm(f"local/{model}", LMOptions(cache=False))
    metric = macro_f1(task.label_field, task.labels)
    program = task.make_program()
    gold = [str(example[task.label_field]) for example in examples]
    rule_sets = {"zero-shot": [], "true policy": true_rules(task_name),
                 **(mined_rule_sets(task, splits.train, seed) if mined else {})}
    runs = {}
    for name, rules in rule_sets.items():
        started = time.perf_counter()
        report = evaluate_program(with_rules(program, base_instructions(program), rules), examples, lm, metric)
        low, high = macro_f1_interval(gold, report.predictions, task.labels, seed=seed)
        runs[name] = {"rules": rules, "macro_f1": report.scores.macro_f1, "interval": [low, high],
                      "predictions": report.predictions, "seconds": round(time.perf_counter() - started, 1),
                      "slices": slice_accuracy(examples, report.predictions, task.label_field, task.slice_field)}
        if name != "zero-shot":
            runs[name]["gain"] = paired_gain(gold, runs["zero-shot"]["predictions"], report.predictions,
                                             task.labels, seed=seed).model_dump()
    return {"model": model, "task": task_name, "n": len(examples), "runs": runs,
            "gain": runs["true policy"]["gain"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b"])
    parser.add_argument("--tasks", nargs="+", default=list(POLICY_TASKS))
    parser.add_argument("--n", type=int, default=60, help="test rows per task (label-balanced sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mined", action="store_true",
                        help="also the rules PLD mines from the training split, each alone and as one list")
    args = parser.parse_args()
    earlier = saved()
    results = kept_results(earlier, args.n, args.seed)
    for model in args.models:
        for task_name in args.tasks:
            result = {**probe(model, task_name, args.n, args.seed, mined=args.mined), "code": code_version(),
                      "cpu": cpu_name()}
            results = [r for r in results if (r["model"], r["task"]) != (model, task_name)] + [result]
            zero, told = result["runs"]["zero-shot"], result["runs"]["true policy"]
            gain = result["gain"]
            print(f"{model:14} {task_name:15} n={result['n']}  zero-shot {zero['macro_f1']:.3f} "
                  f"[{zero['interval'][0]:.3f}, {zero['interval'][1]:.3f}]  true policy {told['macro_f1']:.3f} "
                  f"[{told['interval'][0]:.3f}, {told['interval'][1]:.3f}]  gain {gain['gain']:+.3f} "
                  f"[{gain['low']:+.3f}, {gain['high']:+.3f}]  ({zero['seconds']} s, {told['seconds']} s)")
            for name in zero["slices"]:
                before, after = zero["slices"][name], told["slices"][name]
                print(f"    slice {name:15} n={before['n']:3}  accuracy {before['accuracy']:.2f} -> {after['accuracy']:.2f}")
            for name in mined_runs(result):
                run = result["runs"][name]
                print(f"    {name:30} {run['macro_f1']:.3f}  gain {run['gain']['gain']:+.3f}  answers {answers(run)}")
            sys.stdout.flush()
    order = {name: index for index, name in enumerate(POLICY_TASKS)}
    results.sort(key=lambda r: (r["model"], order.get(r["task"], len(order)), r["task"]))
    payload = {"n": args.n, "seed": args.seed, "results": results, "notes": earlier.get("notes", [])}
    save_result("policy_probe", payload)
    write_page(payload)


def saved() -> dict:
    path = RESULTS / "policy_probe.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def kept_results(earlier: dict, n: int, seed: int) -> list[dict]:
    """Rows of earlier runs with the same sample (a run re-measures only the models and tasks it names)."""
    return list(earlier.get("results", [])) if (earlier.get("n"), earlier.get("seed")) == (n, seed) else []


def write_page(payload: dict) -> None:
    (ROOT / "benchmarks" / "POLICY_PROBE.md").write_text(page_text(payload), encoding="utf-8")


def page_text(payload: dict) -> str:
    """benchmarks/POLICY_PROBE.md: every figure from the saved results."""
    lines = ["# Which packaged student follows written rules?", "",
             "Each model, each house-policy task: zero-shot, then the task's *true* policy (`policy.md`) written "
             "into the instructions as PLD renders rules, on the same label-balanced test rows "
             f"(n={payload['n']}, seed {payload['seed']}). A student that does not move when told the true policy "
             "cannot gain from any rule PLD finds. Written by `python benchmarks/policy_probe.py` from "
             "`results/policy_probe.json`.", "",
             "| model | task | zero-shot [95% CI] | true policy [95% CI] | paired gain [95% CI] | s per row | code |",
             "|---|---|---|---|---|---|---|"]
    for result in payload["results"]:
        zero, told, gain = result["runs"]["zero-shot"], result["runs"]["true policy"], result["gain"]
        lines.append(f"| {result['model']} | {result['task']} | {zero['macro_f1']:.3f} [{zero['interval'][0]:.3f}, "
                     f"{zero['interval'][1]:.3f}] | {told['macro_f1']:.3f} [{told['interval'][0]:.3f}, "
                     f"{told['interval'][1]:.3f}] | {gain['gain']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}] | "
                     f"{told['seconds'] / result['n']:.2f} | {result.get('code', 'earlier')} |")
    lines += ["", "Accuracy on each slice (the override that changed the gold label; `topic`: none did):", "",
              "| model | task | slice | rows | zero-shot | true policy |", "|---|---|---|---|---|---|"]
    for result in payload["results"]:
        zero, told = result["runs"]["zero-shot"]["slices"], result["runs"]["true policy"]["slices"]
        for name, before in zero.items():
            lines.append(f"| {result['model']} | {result['task']} | {name} | {before['n']} | "
                         f"{before['accuracy']:.2f} | {told[name]['accuracy']:.2f} |")
    mined = [(result, name) for result in payload["results"] for name in mined_runs(result)]
    if mined:
        lines += ["", "The rules PLD mines from the training split (the seeded sample of "
                  f"{N_TRAIN} a compile sees), each alone and as their decision list, on the same rows "
                  "(`--mined`). Answers: how often the student gave each label.", "",
                  "| model | task | rules | Macro F1 [95% CI] | gain over zero-shot [95% CI] | answers | "
                  "slice accuracy |", "|---|---|---|---|---|---|---|"]
        for result, name in mined:
            run = result["runs"][name]
            slices = ", ".join(f"{slice_name} {entry['accuracy']:.2f}" for slice_name, entry in run["slices"].items())
            lines.append(f"| {result['model']} | {result['task']} | {name} | {run['macro_f1']:.3f} "
                         f"[{run['interval'][0]:.3f}, {run['interval'][1]:.3f}] | {run['gain']['gain']:+.3f} "
                         f"[{run['gain']['low']:+.3f}, {run['gain']['high']:+.3f}] | {answers(run)} | {slices} |")
        lines += ["", "The mined rules' wording:", ""]
        for result, name in mined:
            if name != "mined list":
                lines.append(f"- {result['task']}, {name}: “{result['runs'][name]['rules'][0]}”")
    for note in payload.get("notes", []):  # prose about the run, kept in the results file beside its figures
        lines += ["", note]
    return "\n".join(lines) + "\n"


def mined_runs(result: dict) -> list[str]:
    return [name for name in result["runs"] if name.startswith("mined")]


def answers(run: dict) -> str:
    return ", ".join(f"{label} {count}" for label, count in Counter(map(str, run["predictions"])).most_common())


if __name__ == "__main__":
    main()
