"""Held-out quality with error bars: PLD next to zero-shot, bootstrap few-shot, MIPROv2, GEPA and InferRules.

For each task and seed, one ``pld compare`` run (``pld.compare.compare``) compiles every method on
the same seeded train/validation sample with the same student, teacher and student-call budget,
and scores it on a seeded, label-balanced sample of the task's *test* split, which no compile
sees. With ``--calibration both``, a second run with contextual calibration scores zero-shot and
PLD again (embedded students only). Runs resume: a finished method is reused when nothing it depends on changed.

Per method and seed the page shows the test Macro F1 with its 95 % bootstrap interval over the
test examples, the gain over zero-shot with the same decoding (paired bootstrap interval and
permutation p-value, ``pld.pipeline.gains``), and the compile cost; across seeds the mean and a
95 % t-interval. The verdict calls a difference only when the interval across seeds excludes 0.
Each rule PLD kept gets its leave-one-out contribution on the same test rows (the paired gain of the
full list over the list without it), measured once per run and saved beside its artifact.

Run (the embedded defaults, Qwen2.5-Coder-1.5B as teacher and student, `pld compile`'s 200 training
and 100 validation examples, 120 test rows as the main job; one to two hours per task and seed on 2
CPU cores, most of it GEPA and MIPROv2), written to QUALITY_POLICY.md:
    python benchmarks/quality.py --tasks policy_support policy_refunds --seeds 0 1 2
The paper's tasks on the embedded Gemma 3 270M (QUALITY.md):
    python benchmarks/quality.py --tasks stereoset logiqa contract_nli --student local/gemma3-270m \
        --teacher local/qwen2.5-0.5b --n-train 12 --n-test 200 --calibration both --page benchmarks/QUALITY.md
With a frontier teacher and Gemma-3 4B on Ollama (the paper's setting):
    python benchmarks/quality.py --teacher openai/gpt-4o-mini --student ollama/gemma3:4b \\
        --tasks stereoset contract_nli --seeds 0 1 2 --n-train 100 --n-val 200 --n-test 300 --budget 4000
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

from _common import DATA_DIR, ROOT, save_result, t_interval

from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER, LMOptions, RoleOptions
from pld.compare.results import CompareReport
from pld.compare.settings import CompareSettings
from pld.compare.suite import compare
from pld.jobs import sample
from pld.metrics import slice_accuracy
from pld.pipeline.gains import macro_f1_interval, paired_gain
from pld.rules import GainEstimate
from pld.tasks import get_task

METHODS = ("zero-shot", "bootstrap", "miprov2", "gepa", "inferrules", "pld")
CALIBRATED = ("zero-shot", "pld")
SHOWN = {"bootstrap": "few-shot", "miprov2": "MIPROv2", "gepa": "GEPA", "inferrules": "InferRules"}  # in the title
PAGE = ROOT / "benchmarks" / "QUALITY_POLICY.md"
READING = "<!-- reading -->"  # the page below this line is written by hand


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["policy_support"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--teacher", default=DEFAULT_TEACHER)
    parser.add_argument("--student", default=DEFAULT_STUDENT)
    parser.add_argument("--teacher-api-base", default=None)
    parser.add_argument("--student-api-base", default=None)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--n-val", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=120)
    parser.add_argument("--budget", type=int, default=600, help="student calls per compile, every method")
    parser.add_argument("--calibration", choices=["both", "off"], default="off",
                        help="both: also score zero-shot and PLD with contextual calibration (embedded students)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "quality")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--retry-failed", action="store_true",
                        help="run methods whose saved result is a failure again (a fixed cause) instead of reusing it")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: write the page from the runs already on disk under --out")
    return parser.parse_args()


def run(args: argparse.Namespace) -> list[dict]:
    """Every (task, method, decoding, seed) row, running what is not already on disk."""
    rows = []
    for task_name in args.tasks:
        task = get_task(task_name)
        for seed in args.seeds:
            settings = CompareSettings(task=task.name, student=args.student, teacher=args.teacher,
                                       methods=tuple(args.methods), n_train=args.n_train, n_val=args.n_val,
                                       n_test=args.n_test, budget=args.budget, seed=seed,
                                       data_dir=os.path.relpath(DATA_DIR, ROOT),  # main() runs from ROOT
                                       retry_failed=args.retry_failed)
            teacher = LMOptions(api_base=args.teacher_api_base)
            student = LMOptions(api_base=args.student_api_base, calibrate=False)  # plain: not the task default
            variants = [("plain", settings, student)]
            if args.calibration == "both" and args.student.startswith("local/"):
                methods = tuple(m for m in CALIBRATED if m in args.methods)
                variants.append(("calibrated", settings.model_copy(update={"methods": methods}),
                                 LMOptions(api_base=args.student_api_base, calibrate=True)))
            examples = _test_examples(task, seed, args.n_test)
            gold = [str(example[task.label_field]) for example in examples]
            for variant, variant_settings, student_options in variants:
                started = time.perf_counter()
                out = args.out / task.name / f"seed-{seed}" / variant
                if args.report_only:
                    report = _on_disk(out, variant_settings.methods)
                    if report is None:
                        continue
                else:
                    report = compare(variant_settings, out, RoleOptions(teacher=teacher, student=student_options))
                print(f"{task.name} seed {seed} {variant}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
                rows += _rows(report, gold, task.labels, variant, seed)
                if task.slice_field:  # policy recovery: accuracy on each override's slice
                    for row in rows[-len(report.methods):]:
                        if row["status"] == "ok":
                            row["slices"] = slice_accuracy(examples, row["predictions"], task.label_field,
                                                           task.slice_field)
                pld_row = next((r for r in rows[-len(report.methods):] if r["method"] == "pld" and r["status"] == "ok"), None)
                if pld_row is not None:
                    pld_row["contributions"] = rule_contributions(task, out / "pld" / "artifact", pld_row, seed)
    return rows


def rule_contributions(task, artifact: Path, row: dict, seed: int) -> list[dict]:
    """Each kept PLD rule's leave-one-out contribution on the test sample: what the list loses when
    that rule alone is removed (paired gain of the full list over the rest, with its interval), with
    the student and decoding the rules were selected under."""
    from pld import load, macro_f1
    from pld.evaluate import evaluate_program
    from pld.pipeline.render import base_instructions, with_rules

    saved = artifact.parent / "contributions.json"  # measured once per run; --report-only reads it
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    if not (artifact / "manifest.json").is_file():
        return []
    program = load(artifact)
    rules = [rule["text"] for rule in program.pld_manifest.rules]
    if not rules:
        return []
    base = task.make_program(program.pld_manifest.strategy)
    bases = base_instructions(base)
    examples = sample(task, task.load_splits(DATA_DIR, seed=seed).test, row["n_test"], seed)
    student = program.predictors()[0].lm
    contributions = []
    for index, rule in enumerate(rules):
        rest = with_rules(base, bases, rules[:index] + rules[index + 1:])
        without = evaluate_program(rest, examples, student, macro_f1(task.label_field, task.labels)).predictions
        gain = paired_gain(row["gold"], without, row["predictions"], row["labels"], seed=seed)
        contributions.append({"rule": rule, "n_test": len(examples), "contribution": gain.model_dump()})
    saved.write_text(json.dumps(contributions, indent=1), encoding="utf-8")
    return contributions


def _on_disk(out: Path, methods: tuple[str, ...]) -> CompareReport | None:
    """The finished methods of a run, from their result files (``--report-only``)."""
    from pld.compare.results import MethodResult

    if not (out / "results.json").is_file():
        return None
    report = CompareReport.model_validate_json((out / "results.json").read_text(encoding="utf-8"))
    finished = [out / name / "result.json" for name in methods if (out / name / "result.json").is_file()]
    report.methods = [MethodResult.model_validate_json(path.read_text(encoding="utf-8")) for path in finished]
    return report


def _test_examples(task, seed: int, n_test: int) -> list:
    """The test sample that ``compare`` scores (same loader, same seed)."""
    return sample(task, task.load_splits(DATA_DIR, seed=seed).test, n_test, seed)


def _rows(report: CompareReport, gold: list[str], labels, variant: str, seed: int) -> list[dict]:
    zero = next((m for m in report.methods if m.method == "zero-shot" and m.status == "ok"), None)
    rows = []
    for result in report.methods:
        row = {"task": report.task, "method": result.method, "decoding": variant, "seed": seed,
               "status": result.status, "n_test": len(gold)}
        if result.status == "ok" and result.test is not None:
            predicted = result.test.predictions
            low, high = macro_f1_interval(gold, predicted, labels, seed=seed)
            row.update(macro_f1=result.test.scores.macro_f1, low=low, high=high, predictions=predicted, gold=gold, labels=list(labels),
                       teacher_calls=result.compile.teacher.calls, student_calls=result.compile.student.calls,
                       compile_s=result.compile.wall_s,
                       cached_calls=result.compile.teacher.cache_hits + result.compile.student.cache_hits,
                       predicted=dict(sorted(_counts(predicted).items())))
            if zero is not None and result.method != "zero-shot":
                gain = paired_gain(gold, zero.test.predictions, predicted, labels, seed=seed)
                row["gain"] = gain.model_dump()
        else:
            row["error"] = result.error
        rows.append(row)
    return rows


def _counts(predicted: list[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in predicted:
        counts[str(label)] = counts.get(str(label), 0) + 1
    return counts


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        if row["status"] == "ok":
            groups.setdefault((row["task"], row["method"], row["decoding"]), []).append(row)
    summary = []
    for (task, method, decoding), members in groups.items():
        mean, low, high = t_interval([m["macro_f1"] for m in members])
        # Costs only from cold compiles: a compile that replayed any call from the response cache
        # measured the cache, not the method (its row says how many it replayed).
        cold = [m for m in members if not m.get("cached_calls")]
        entry = {"task": task, "method": method, "decoding": decoding, "seeds": len(members), "mean": mean,
                 "low": low, "high": high, "cold_seeds": len(cold),
                 "compile_s": statistics.fmean(m["compile_s"] for m in cold) if cold else math.nan,
                 "student_calls": statistics.fmean(m["student_calls"] for m in cold) if cold else math.nan,
                 "teacher_calls": statistics.fmean(m["teacher_calls"] for m in cold) if cold else math.nan}
        gains = [m["gain"]["gain"] for m in members if "gain" in m]
        if gains:
            entry["gain_mean"], entry["gain_low"], entry["gain_high"] = t_interval(gains)
            entry["seeds_credible"] = sum(_credible(m["gain"]) for m in members if "gain" in m)
            entry["seeds_worse"] = sum(m["gain"]["high"] < 0 for m in members if "gain" in m)
            entry["verdict"] = _verdict(entry)
        summary.append(entry)
    return summary


def _verdict(entry: dict) -> str:
    low, high = entry["gain_low"], entry["gain_high"]
    if math.isnan(low):
        return "one seed: no interval across seeds"
    if low > 0:
        return "better than zero-shot"
    if high < 0:
        return "worse than zero-shot"
    return "no difference shown"


def pld_versus(rows: list[dict]) -> list[dict]:
    """Per task, decoding and seed: PLD's paired gain over each other method on the same test
    examples (PLD "beats" a method only where this interval lies above 0)."""
    pld = {(r["task"], r["decoding"], r["seed"]): r for r in rows if r["status"] == "ok" and r["method"] == "pld"}
    gains = []
    for r in rows:
        ours = pld.get((r["task"], r["decoding"], r["seed"]))
        if r["status"] != "ok" or r["method"] == "pld" or ours is None:
            continue
        gain = paired_gain(r["gold"], r["predictions"], ours["predictions"], r["labels"], seed=r["seed"])
        gains.append({"task": r["task"], "decoding": r["decoding"], "method": r["method"], "seed": r["seed"],
                      "gain": gain.model_dump()})
    return gains


def versus_lines(gains: list[dict]) -> list[str]:
    if not gains:
        return []
    lines = ["", "## PLD against each method, same test examples", "",
             "PLD's paired gain over the method (positive: PLD better); per seed with its 95 % interval and "
             "permutation p-value, across seeds the mean with a t-interval.", "",
             "| task | decoding | method | seed | PLD − method [95% CI], p | credibly better |", "|---|---|---|---|---|---|"]
    for g in sorted(gains, key=lambda g: (g["task"], g["decoding"], g["method"], g["seed"])):
        gain = g["gain"]
        better = "yes" if _credible(gain) else "no"
        lines.append(f"| {g['task']} | {g['decoding']} | {g['method']} | {g['seed']} | {_gain_cell(gain)} | {better} |")
    groups: dict[tuple[str, str, str], list[float]] = {}
    for g in gains:
        groups.setdefault((g["task"], g["decoding"], g["method"]), []).append(g["gain"]["gain"])
    if any(len(values) > 1 for values in groups.values()):
        lines += ["", "| task | decoding | method | seeds | mean PLD − method [95% t-interval across seeds] |",
                  "|---|---|---|---|---|"]
        for (task, decoding, method), values in sorted(groups.items()):
            mean, low, high = t_interval(values)
            lines.append(f"| {task} | {decoding} | {method} | {len(values)} | {mean:+.3f} "
                         f"{_interval(low, high, '+.3f')} |")
    return lines


def slice_lines(rows: list[dict]) -> list[str]:
    """Policy recovery: each method's accuracy on each slice of the test rows (the override that
    decided the gold label; ``topic``: none did)."""
    sliced = [r for r in rows if r.get("slices")]
    if not sliced:
        return []
    lines = ["", "## Policy recovery: accuracy on each override's slice of the test rows", "",
             "A slice holds the test rows whose gold label an override decided (`topic`: rows no override "
             "changed). The change is against zero-shot with the same decoding and seed.", "",
             "| task | decoding | method | seed | slice | rows | accuracy | change over zero-shot |",
             "|---|---|---|---|---|---|---|---|"]
    zero = {(r["task"], r["decoding"], r["seed"]): r["slices"] for r in sliced if r["method"] == "zero-shot"}
    for r in sorted(sliced, key=lambda r: (r["task"], r["decoding"], r["seed"], r["method"] != "zero-shot",
                                           r["method"])):
        base = zero.get((r["task"], r["decoding"], r["seed"]), {})
        for name, entry in r["slices"].items():
            change = (f"{entry['accuracy'] - base[name]['accuracy']:+.2f}"
                      if name in base and r["method"] != "zero-shot" else "–")
            lines.append(f"| {r['task']} | {r['decoding']} | {r['method']} | {r['seed']} | {name} | {entry['n']} | "
                         f"{entry['accuracy']:.2f} | {change} |")
    return lines


def calibration_gains(rows: list[dict]) -> list[dict]:
    """Per task, method and seed: calibrated minus plain decoding of the same program on the same
    test examples (paired), for the methods scored both ways."""
    plain = {(r["task"], r["method"], r["seed"]): r for r in rows if r["status"] == "ok" and r["decoding"] == "plain"}
    gains = []
    for r in rows:
        base = plain.get((r["task"], r["method"], r["seed"]))
        if r["status"] != "ok" or r["decoding"] != "calibrated" or base is None:
            continue
        gain = paired_gain(r["gold"], base["predictions"], r["predictions"], r["labels"], seed=r["seed"])
        gains.append({"task": r["task"], "method": r["method"], "seed": r["seed"], "plain": base["macro_f1"],
                      "calibrated": r["macro_f1"], "gain": gain.model_dump()})
    return gains


def calibration_lines(gains: list[dict]) -> list[str]:
    if not gains:
        return []
    lines = ["", "## Calibrated vs plain decoding, same program and test examples", "",
             "| task | method | seed | plain | calibrated | gain [95% CI], p |", "|---|---|---|---|---|---|"]
    for g in sorted(gains, key=lambda g: (g["task"], g["method"], g["seed"])):
        gain = g["gain"]
        lines.append(f"| {g['task']} | {g['method']} | {g['seed']} | {g['plain']:.3f} | {g['calibrated']:.3f} | "
                     f"{_gain_cell(gain)} |")
    groups: dict[tuple[str, str], list[float]] = {}
    for g in gains:
        groups.setdefault((g["task"], g["method"]), []).append(g["gain"]["gain"])
    lines += ["", "| task | method | seeds | mean gain of calibration [95% t-interval across seeds] |", "|---|---|---|---|"]
    for (task, method), values in sorted(groups.items()):
        mean, low, high = t_interval(values)
        lines.append(f"| {task} | {method} | {len(values)} | {mean:+.3f} [{low:+.3f}, {high:+.3f}] |")
    return lines


def contribution_lines(rows: list[dict]) -> list[str]:
    """Each kept rule's leave-one-out contribution on the test split (PLD rows that kept rules)."""
    kept = [(r, c) for r in rows for c in r.get("contributions", [])]
    if not kept:
        return []
    lines = ["", "## Each kept rule's leave-one-out contribution on the test split", "",
             "What the compiled list loses on the same test rows when that rule alone is removed (paired gain of "
             "the full list over the rest).", "",
             "| task | decoding | seed | rule | test rows | contribution [95% CI], p |", "|---|---|---|---|---|---|"]
    for r, c in sorted(kept, key=lambda item: (item[0]["task"], item[0]["decoding"], item[0]["seed"])):
        gain = c["contribution"]
        lines.append(f"| {r['task']} | {r['decoding']} | {r['seed']} | {c['rule']} | {c['n_test']} | {_gain_cell(gain)} |")
    return lines


def _credible(gain: dict) -> bool:
    """A saved paired gain that PLD's own acceptance test would call credible (any size above 0)."""
    return GainEstimate.model_validate(gain).credible(min_gain=0.0)


def _gain_cell(gain: dict) -> str:
    """A paired gain as the page shows it: ``+0.123 [+0.045, +0.201], p=0.002``."""
    return f"{gain['gain']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}], p={gain['p_value']:.3g}"


def _interval(low: float, high: float, spec: str) -> str:
    """``[low, high]``, or "[no interval: one seed]" where one seed gives none."""
    return "[no interval: one seed]" if math.isnan(low) else f"[{low:{spec}}, {high:{spec}}]"


def _mean(value: float) -> str:
    """A cost mean over cold compiles; "–" where every compile replayed cached calls."""
    return "–" if math.isnan(value) else f"{value:.0f}"


def page_text(payload: dict) -> str:
    """QUALITY.md's tables, every figure from the saved results (``results/<page>.json``); the
    hand-written reading below ``READING`` is kept by ``main``."""
    settings, rows, summary = payload["settings"], payload["rows"], payload["summary"]
    methods = ast.literal_eval(settings["methods"])
    others = [SHOWN.get(method, method) for method in methods if method != "pld"]
    named = " and ".join(filter(None, [", ".join(others[:-1]), others[-1]])) if others else ""
    title = (f"Held-out quality: PLD next to {named}" if len(methods) > 1
             else f"Held-out {methods[0]}, with and without contextual calibration")
    lines = [f"# {title}", "",
             f"Written by `python benchmarks/quality.py` from `results/{Path(settings['page']).stem.lower()}.json` "
             f"(tasks {', '.join(ast.literal_eval(settings['tasks']))}; seeds "
             f"{', '.join(map(str, ast.literal_eval(settings['seeds'])))}).", "",
             f"Student `{settings['student']}`, teacher `{settings['teacher']}`; per seed {settings['n_train']} training and "
             f"{settings['n_val']} validation examples (label-balanced, seeded) and **{settings['n_test']} test examples** "
             f"from the task's test split, which no compile sees; {settings['budget']} student calls per compile.", "",
             "Intervals are 95 %. Per seed: a bootstrap over the test examples (Macro F1) and a paired bootstrap "
             "with a permutation p-value (gain over zero-shot with the same decoding). Across seeds: a t-interval "
             "on the per-seed values (3 seeds give wide intervals: that is the honest size of what we know). Costs "
             "(compile s, calls) are means over the cold compiles only: a compile that answered any call from the "
             "response cache (an earlier run's answer, or one asked twice in the run) is counted in the quality "
             "columns and left out of the cost columns, and its row says how many calls the cache answered.", "",
             "## Summary across seeds", "",
             "| task | method | decoding | seeds | test Macro F1 mean [95% CI] | gain over zero-shot [95% CI] | "
             "seeds with a credible gain / loss | verdict | cold compiles | compile s | student calls | teacher calls |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in sorted(summary, key=lambda e: (e["task"], e["decoding"], e["method"])):
        gain = (f"{e['gain_mean']:+.3f} {_interval(e['gain_low'], e['gain_high'], '+.3f')}" if "gain_mean" in e else "–")
        credible = f"{e['seeds_credible']} / {e['seeds_worse']}" if "gain_mean" in e else "–"
        lines.append(f"| {e['task']} | {e['method']} | {e['decoding']} | {e['seeds']} | {e['mean']:.3f} "
                     f"{_interval(e['low'], e['high'], '.3f')} | {gain} | {credible} | {e.get('verdict', 'baseline')} | "
                     f"{e['cold_seeds']} | {_mean(e['compile_s'])} | {_mean(e['student_calls'])} | "
                     f"{_mean(e['teacher_calls'])} |")
    lines += ["", "## Every method and seed", "",
              "| task | method | decoding | seed | test Macro F1 [95% CI] | gain over zero-shot | predicted labels | "
              "compile s |", "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["task"], r["decoding"], r["method"], r["seed"])):
        if r["status"] != "ok":
            lines.append(f"| {r['task']} | {r['method']} | {r['decoding']} | {r['seed']} | **{r['status']}**: "
                         f"{' '.join(str(r.get('error', '')).split())} | | | |")  # one line: a table cell
            continue
        gain = r.get("gain")
        shown = _gain_cell(gain) if gain else "–"
        labels = ", ".join(f"{k}: {v}" for k, v in r["predicted"].items())
        cached = f" ({r['cached_calls']} calls from the cache)" if r.get("cached_calls") else ""
        lines.append(f"| {r['task']} | {r['method']} | {r['decoding']} | {r['seed']} | {r['macro_f1']:.3f} "
                     f"[{r['low']:.3f}, {r['high']:.3f}] | {shown} | {labels} | {r['compile_s']:.0f}{cached} |")
    lines += versus_lines(payload.get("versus", []))
    lines += slice_lines(rows)
    lines += contribution_lines(rows)
    lines += calibration_lines(payload.get("calibration", []))
    return "\n".join(lines) + "\n"


def _relative(value):
    """Paths as the repository names them (a results file names no machine's folders)."""
    if isinstance(value, Path) and value.resolve().is_relative_to(ROOT):
        return value.resolve().relative_to(ROOT)
    return value


def main() -> None:
    args = parse_args()
    args.out, args.page = args.out.resolve(), args.page.resolve()  # as given, before the working folder changes
    os.chdir(ROOT)  # the runs' saved settings name the data folder relative to the repository
    rows = run(args)
    settings = {name: str(_relative(value)) for name, value in vars(args).items()}
    kept = [{k: v for k, v in row.items() if k not in ("predictions", "gold", "labels")} for row in rows]
    payload = {"settings": settings, "rows": kept, "summary": summarise(rows), "versus": pld_versus(rows),
               "calibration": calibration_gains(rows)}
    save_result(args.page.stem.lower(), payload)
    text = page_text(payload)
    if args.page.exists() and READING in args.page.read_text():  # keep the hand-written reading below the tables
        text += "\n" + READING + args.page.read_text().split(READING, 1)[1]
    args.page.write_text(text)
    print(text)
    print(json.dumps(payload["summary"], indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
