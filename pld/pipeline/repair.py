"""The conflict loop: show the teacher where the student followed the rules and still failed,
take its rewritten rule list, and keep it only if its validation Macro F1 gain is credible (the
same paired test as selection, ``pld.pipeline.gains``). The rewrite races the current list as a
selection candidate does (``pld.pipeline.racing``): one that cannot become credible is dropped
on the first validation stage that shows it, not scored on the whole set."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from pld.budget import CallBudget
from pld.errors import BudgetExceeded
from pld.pipeline.hygiene import SEVERE, rejected, screen_rules
from pld.rules import RejectedRule, example_key
from pld.pipeline.gains import GainEstimate
from pld.pipeline.racing import GainTest, race, race_order

if TYPE_CHECKING:  # annotations only: records and reports load without DSPy (pld show)
    import dspy

    from pld.pipeline.scoring import StudentScorer
    from pld.pipeline.teacher import Teacher

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
    gain_estimate: GainEstimate | None = None  # the rewrite's gain over the current list, with its interval
    examples: int | None = None  # validation examples the rewrite was scored on (fewer when racing dropped it)


class RepairResult(BaseModel):
    rules: list[str]
    val_macro_f1: float
    rounds: list[RepairRound]
    rejected: list[RejectedRule] = []  # proposed rules not kept: unsafe, no gain, or not scored
    warnings: list[str] = []
    steps: list[list[str]] = []  # each accepted rewrite, in turn


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
    test: GainTest,
    max_rules: int,
    rng: random.Random,
    max_failures_shown: int = 8,
    max_successes_shown: int = 4,
    racing: bool = True,
) -> RepairResult:
    import dspy  # here, not at the top: the report's RepairRound loads without DSPy (pld show)

    from pld.pipeline.traces import render_example

    rules, rounds = list(rules), []
    refused: list[RejectedRule] = []
    steps: list[list[str]] = []
    label_field, labels = scorer.metric.label_field, scorer.metric.labels or ()
    ordered_val = race_order(valset, label_field, test.seed)  # selection's order: its answers are reused
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
            from pld.faults import raise_if_backend_fault, redact

            raise_if_backend_fault(exc, teacher_lm)  # a teacher that cannot answer at all ends the run
            rounds.append(_rejected(number, failures, shown_successes, [], f"teacher failed: {redact(str(exc))}"))
            break
        shown = [example_key(ex) for ex, _ in shown_failures] + [example_key(ex) for ex in shown_successes]
        raw = proposed
        fields = list(valset[0].inputs().keys()) if valset else []
        proposed, unsafe = _screen(raw, rules, labels, fields, number, shown, refused)
        if unsafe:
            rounds.append(_rejected(number, failures, shown_successes, raw, f"unsafe rewrite refused: {unsafe}"))
            break
        if not proposed or proposed == rules:
            note = "no usable rewrite" + (" (every proposed rule failed hygiene)" if raw and not proposed else "")
            rounds.append(_rejected(number, failures, shown_successes, proposed, note))
            break
        try:
            [outcome] = race(scorer, [proposed], ordered_val, rules, test, racing=racing)
        except BudgetExceeded as exc:
            rounds.append(_rejected(number, failures, shown_successes, proposed, str(exc)))
            refused.extend(_not_kept(proposed, rules, "not-scored", f"not scored: {exc}", shown, number))
            break
        score, estimate = outcome.macro_f1, outcome.estimate
        accepted = outcome.dropped is None and estimate.credible(test.min_gain)
        rounds.append(RepairRound(round=number, failures=len(failures), successes_shown=len(shown_successes),
                                  proposed_rules=proposed, val_macro_f1=score, gain=estimate.gain, accepted=accepted,
                                  gain_estimate=estimate, examples=outcome.examples,
                                  note=f"dropped by racing: {outcome.dropped}" if outcome.dropped else ""))
        logger.info("repair round %d: %d failures, rewrite scores %.4f on %d examples (gain %s)%s", number,
                    len(failures), score, outcome.examples, estimate.describe(), "" if accepted else " - rejected")
        if not accepted:
            reason = (f"its rewrite scored {score:.4f} on {outcome.examples} validation examples, gain "
                      f"{estimate.describe()}: not credible (needs the interval above 0 and a gain of at least "
                      f"min_gain={test.min_gain})")
            refused.extend(_not_kept(proposed, rules, "no-gain", reason, shown, number))
            break
        rules, current_score = proposed, score
        steps.append(list(rules))
    return RepairResult(rules=rules, val_macro_f1=current_score, rounds=rounds, rejected=refused, steps=steps)


def _screen(proposed: list[str], current: list[str], labels: Sequence[str], fields: Sequence[str], number: int,
            shown: list[str], refused: list[RejectedRule]) -> tuple[list[str], str | None]:
    """The usable rules of a rewrite, and the reason to refuse it whole: markup or an override in
    any rule means the inputs shown to the teacher steered it, so none of its rules is trusted."""
    usable, problems = screen_rules(proposed, labels, fields)
    refused.extend(rejected(text, problem, "repair", shown, number) for text, problem in problems)
    severe = next((problem.reason for _, problem in problems if problem.kind in SEVERE), None)
    if severe is None:
        return usable, None
    refused.extend(_not_kept(usable, current, "unsafe-rewrite", "part of a rewrite that also held an unsafe rule",
                             shown, number))
    return [], severe


def _not_kept(proposed: list[str], current: list[str], kind: str, reason: str, shown: list[str],
              number: int) -> list[RejectedRule]:
    """Records for the rules a rewrite proposed that the current list does not already hold."""
    return [RejectedRule(text=text, stage="repair", kind=kind, reason=reason, example_keys=tuple(shown), round=number)
            for text in proposed if text not in current]


def _rejected(number: int, failures: list, successes: list, proposed: list[str], note: str) -> RepairRound:
    return RepairRound(round=number, failures=len(failures), successes_shown=len(successes), proposed_rules=proposed,
                       val_macro_f1=None, gain=None, accepted=False, note=note)
