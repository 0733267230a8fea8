"""The conflict loop: show the teacher where the student followed the rules and still failed,
take its rewritten rule list, and keep it only if validation Macro F1 improves."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

import dspy
from pydantic import BaseModel

from pld.budget import CallBudget
from pld.errors import BudgetExceeded
from pld.scoring import StudentScorer
from pld.teacher import Teacher
from pld.traces import render_example

logger = logging.getLogger(__name__)


class RepairRound(BaseModel):
    round: int
    failures: int
    successes_shown: int
    proposed_rules: list[str]
    val_macro_f1: float | None
    gain: float | None
    accepted: bool
    note: str = ""


class RepairResult(BaseModel):
    rules: list[str]
    val_macro_f1: float
    rounds: list[RepairRound]


def repair_rules(
    teacher: Teacher,
    teacher_lm: dspy.BaseLM,
    teacher_budget: CallBudget,
    scorer: StudentScorer,
    rules: Sequence[str],
    current_score: float,
    trainset: Sequence[dspy.Example],
    valset: Sequence[dspy.Example],
    *,
    task: str,
    max_rounds: int,
    min_gain: float,
    max_rules: int,
    rng: random.Random,
    max_failures_shown: int = 8,
    max_successes_shown: int = 4,
) -> RepairResult:
    rules, rounds = list(rules), []
    label_field = scorer.metric.label_field
    for number in range(1, max_rounds + 1):
        try:
            predicted = scorer.labels(rules, trainset)
        except BudgetExceeded as exc:
            rounds.append(RepairRound(round=number, failures=0, successes_shown=0, proposed_rules=[],
                                      val_macro_f1=None, gain=None, accepted=False, note=str(exc)))
            break
        pairs = list(zip(trainset, predicted))
        failures = [(ex, p) for ex, p in pairs if p != str(ex[label_field])]
        successes = [ex for ex, p in pairs if p == str(ex[label_field])]
        if not failures:
            rounds.append(RepairRound(round=number, failures=0, successes_shown=0, proposed_rules=[],
                                      val_macro_f1=None, gain=None, accepted=False, note="no failures on train"))
            break
        shown_failures = rng.sample(failures, min(max_failures_shown, len(failures)))
        shown_successes = rng.sample(successes, min(max_successes_shown, len(successes)))
        failure_text = "\n\n".join(
            f"{render_example(ex, 800)}\nmodel answered: {p or '(no valid answer)'}; correct: {ex[label_field]}"
            for ex, p in shown_failures
        )
        success_text = "\n\n".join(f"{render_example(ex, 800)}\ncorrect: {ex[label_field]}" for ex in shown_successes)
        try:
            teacher_budget.charge()
            with dspy.context(lm=teacher_lm):
                proposed = teacher.resolve_conflicts(task, rules, failure_text, success_text or "(none)")[:max_rules]
        except BudgetExceeded as exc:
            rounds.append(_rejected(number, failures, shown_successes, [], str(exc)))
            break
        except Exception as exc:  # noqa: BLE001 - a garbled rewrite is a rejected round, not a crash
            rounds.append(_rejected(number, failures, shown_successes, [], f"teacher failed: {exc}"))
            break
        if not proposed or proposed == rules:
            rounds.append(_rejected(number, failures, shown_successes, proposed, "no usable rewrite"))
            break
        try:
            score = scorer.macro_f1(proposed, valset)
        except BudgetExceeded as exc:
            rounds.append(_rejected(number, failures, shown_successes, proposed, str(exc)))
            break
        gain = score - current_score
        accepted = gain >= min_gain and gain > 0
        rounds.append(RepairRound(round=number, failures=len(failures), successes_shown=len(shown_successes),
                                  proposed_rules=proposed, val_macro_f1=score, gain=gain, accepted=accepted))
        logger.info("repair round %d: %d failures, rewrite scores %.4f (gain %+.4f)%s", number, len(failures),
                    score, gain, "" if accepted else " - rejected")
        if not accepted:
            break
        rules, current_score = proposed, score
    return RepairResult(rules=rules, val_macro_f1=current_score, rounds=rounds)


def _rejected(number: int, failures: list, successes: list, proposed: list[str], note: str) -> RepairRound:
    return RepairRound(round=number, failures=len(failures), successes_shown=len(successes), proposed_rules=proposed,
                       val_macro_f1=None, gain=None, accepted=False, note=note)
