"""How often does PLD keep a rule that does nothing? The false-acceptance rate under the null.

Each compile gets a deterministic student whose answers do not depend on any rule's meaning: with
rules in its prompt, each answer is replaced, with probability ``--flip``, by a label drawn from a
hash of (rule list, example) — rules that change random answers, as a nonsense rule does on a real
student. The teacher writes one distinct, hygienic micro-rule per training example. Any rule PLD
returns is then a false acceptance. Goal (issue 22): at most 5 % of compiles.

    python benchmarks/null_acceptance.py --compiles 200
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import sys
import time
from typing import Literal

import dspy

from _common import ROOT, save_result

from tests.fakes import field_value, function_lm  # noqa: E402 - the deterministic engine the tests use

from pld import PLD, macro_f1  # noqa: E402

LABELS = ("pos", "neg", "mid")


class NullSignature(dspy.Signature):
    """Label each item."""

    text: str = dspy.InputField()
    label: Literal["pos", "neg", "mid"] = dspy.OutputField()


def _draw(*parts: str) -> float:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16) / 16**12


def null_student(flip: float, seed: int):
    def respond(system: str, user: str) -> dict[str, str]:
        item = field_value(user, "text")
        answer = LABELS[int(_draw("base", str(seed), item) * 3)]
        rules = system.split("Apply these rules", 1)[1] if "Apply these rules" in system else ""
        if rules and _draw("flip", str(seed), rules, item) < flip:
            answer = LABELS[int(_draw("new", str(seed), rules, item) * 3)]
        return {"label": answer}
    return respond


def null_teacher(system: str, user: str) -> dict[str, str]:
    if "`merged_rule`" in system:
        return {"merged_rule": field_value(user, "rules").splitlines()[0]}
    if "`revised_rules`" in system:
        rules = [line.split(". ", 1)[-1] for line in field_value(user, "rules").splitlines()]
        return {"revised_rules": "\n".join(reversed(rules))}
    item = field_value(user, "example").removeprefix("text: ")
    gold = field_value(user, "label").split("\n\n")[0].strip()
    return {"reasoning": "It looks that way.", "rule": f"If the item's number ends like {item.split()[-1]}, the answer is {gold}."}


def examples(n: int, seed: int, start: int) -> list[dspy.Example]:
    return [dspy.Example(text=f"item {seed}-{i}", label=LABELS[int(_draw("gold", str(seed), str(i)) * 3)]).with_inputs("text")
            for i in range(start, start + n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiles", type=int, default=200)
    parser.add_argument("--train", type=int, default=12)
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--flip", type=float, default=0.3)
    parser.add_argument("--selection", choices=["racing", "exhaustive"], default="racing",
                        help="exhaustive: every list is scored on the whole validation set, so the acceptance test "
                             "itself decides every round")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    kept = selected = contested = 0
    started = time.perf_counter()
    for seed in range(args.compiles):
        student, _ = function_lm(null_student(args.flip, seed), f"null-student-{seed}")
        teacher, _ = function_lm(null_teacher, "null-teacher")
        optimizer = PLD(teacher_lm=teacher, student_lm=student, metric=macro_f1("label", LABELS), max_rules=3,
                        max_candidates=6, max_repair_rounds=1, seed=seed, progress=False,
                        selection=args.selection)
        compiled = optimizer.compile(dspy.Predict(NullSignature), trainset=examples(args.train, seed, 0),
                                     valset=examples(args.val, seed, 1000))
        report = compiled.pld_report
        selected += any(r.accepted for r in report.selection_rounds) or any(r.accepted for r in report.repair_rounds)
        kept += bool(report.rules)
        contested += any(r.winner_id for r in report.selection_rounds)  # a list survived racing to the full set
    rate = kept / args.compiles
    half = 1.96 * math.sqrt(rate * (1 - rate) / args.compiles)  # normal approximation; exact below when 0
    upper = 1 - 0.025 ** (1 / args.compiles) if kept == 0 else min(1.0, rate + half)
    print(f"{args.compiles} null compiles ({args.selection}, {args.val} validation examples, flip {args.flip}): "
          f"a list reached the full validation set in {contested}; a rule accepted by selection or repair in "
          f"{selected}, returned in {kept} "
          f"({rate:.1%}, 95% upper bound {upper:.1%}); {time.perf_counter() - started:.0f} s")
    save_result(f"null_acceptance_{args.selection}", {"compiles": args.compiles, "selection": args.selection, "val": args.val, "train": args.train,
                                    "flip": args.flip, "contested": contested, "selected": selected, "returned": kept,
                                    "rate": rate, "upper_95": upper})


if __name__ == "__main__":
    main()
