"""How often does PLD keep a rule that truly helps? Confirmation's power, two-stage against held-back alone.

The null benchmark (``null_acceptance.py``) shows that PLD rarely keeps a rule that does nothing;
this one shows what that caution costs. Each compile gets the same deterministic student and
teacher, except that one training example's micro-rule is *true*: with it in the prompt, each
answer turns into the gold label with probability ``--effect`` (the other rules still change random
answers). The true rule raises accuracy from 1/3 by ``2/3 x effect``, much as the support desk's
Enterprise rule raised the real student's Macro F1 by about 0.15-0.2. Per confirmation test: how
often selection accepted the true rule, how often confirmation then kept it (with a Wilson 95 %
interval), and how many compiles returned a rule that is not it.

    python benchmarks/confirmation_power.py --compiles 100 --effects 0.3 0.4
"""

from __future__ import annotations

import argparse
import logging
import time

import dspy

from _common import save_result
from null_acceptance import LABELS, NullSignature, _draw, examples, null_student, null_teacher

from tests.fakes import field_value, function_lm  # noqa: E402 - the deterministic engine the tests use

from pld import PLD, macro_f1  # noqa: E402

MARK = "appears in the ledger"


def gold_of(item: str) -> str:
    """The gold label ``examples`` drew for ``item {seed}-{i}``."""
    seed, index = item.removeprefix("item ").split("-")
    return LABELS[int(_draw("gold", seed, index) * 3)]


def student_with_a_true_rule(effect: float, seed: int):
    rest = null_student(0.3, seed)

    def respond(system: str, user: str) -> dict[str, str]:
        item = field_value(user, "text").split("\n")[0]  # the user turn ends with the adapter's instruction
        if MARK in system and _draw("true", str(seed), item) < effect:
            return {"label": gold_of(item)}
        return rest(system, user)
    return respond


def teacher_with_a_true_rule(system: str, user: str) -> dict[str, str]:
    answer = null_teacher(system, user)
    item = field_value(user, "example").removeprefix("text: ")
    if "rule" in answer and item.endswith("-0"):  # the first training example's micro-rule is the true one
        answer["rule"] = f"If the item {MARK}, the answer is {field_value(user, 'label').split(chr(10) * 2)[0].strip()}."
    return answer


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The Wilson score interval (95 %) of a proportion: sound at 0 and n, unlike the normal one."""
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiles", type=int, default=100)
    parser.add_argument("--effects", type=float, nargs="+", default=[0.3, 0.4])
    parser.add_argument("--val", type=int, default=100)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    rows = []
    for effect in args.effects:
        for test in ("held-back", "two-stage"):
            offered = selected = kept = other = 0
            started = time.perf_counter()
            for seed in range(args.compiles):
                student, _ = function_lm(student_with_a_true_rule(effect, seed), f"power-student-{seed}")
                teacher, _ = function_lm(teacher_with_a_true_rule, "power-teacher")
                optimizer = PLD(teacher_lm=teacher, student_lm=student, metric=macro_f1("label", LABELS), max_rules=3,
                                max_candidates=6, max_repair_rounds=1, seed=seed, progress=False, confirmation=test)
                report = optimizer.compile(dspy.Predict(NullSignature), trainset=examples(12, seed, 0),
                                           valset=examples(args.val, seed, 1000)).pld_report
                offered += any(MARK in c.text for c in report.candidate_rules)
                texts = {c.id: c.text for c in report.candidate_rules}
                selected += any(r.accepted and MARK in texts.get(r.winner_id, "") for r in report.selection_rounds)
                kept += any(MARK in r.text for r in report.rules)
                other += any(MARK not in r.text for r in report.rules)
            low, high = wilson(kept, selected)
            rows.append({"effect": effect, "confirmation": test, "compiles": args.compiles, "offered": offered,
                         "selected_true": selected, "kept_true": kept, "kept_other": other,
                         "confirmed_share": kept / selected if selected else None, "interval": [low, high]})
            print(f"effect {effect} ({test}): the true rule offered in {offered}, accepted by selection in {selected}, "
                  f"returned in {kept} ({kept}/{selected} confirmed, 95% CI [{low:.0%}, {high:.0%}]); another rule "
                  f"returned in {other}; {time.perf_counter() - started:.0f} s", flush=True)
    save_result("confirmation_power", {"val": args.val, "train": 12, "flip": 0.3, "rows": rows})


if __name__ == "__main__":
    main()
