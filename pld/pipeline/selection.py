"""Greedy forward selection and ordering of candidate rules by validation Macro F1.

Each round tries every remaining candidate at every position of the current list and keeps the
best list; it stops when the best gain is below ``min_gain``, at ``max_rules``, or when the
student budget is spent. Every trial is recorded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel
from tqdm.auto import tqdm

from pld.errors import BudgetExceeded
from pld.pipeline.racing import race, race_order
from pld.rules import CandidateRule

if TYPE_CHECKING:  # annotations only: records and reports load without DSPy (pld show)
    import dspy

    from pld.pipeline.scoring import StudentScorer

logger = logging.getLogger(__name__)


class Trial(BaseModel):
    candidate_id: str
    position: int
    val_macro_f1: float
    examples: int  # validation examples the score was measured on (fewer when racing dropped it)


class SelectionRound(BaseModel):
    round: int
    trials: list[Trial]
    winner_id: str | None
    winner_position: int | None
    val_macro_f1: float | None
    gain: float | None
    accepted: bool


class SelectionResult(BaseModel):
    selected: list[CandidateRule]
    gains: list[float]  # the validation gain each rule brought when it was added
    baseline_val_macro_f1: float
    val_macro_f1: float
    rounds: list[SelectionRound]
    stop_reason: str
    evaluated: list[tuple[list[str], float]]  # every rule list scored on the full validation set
    warnings: list[str] = []  # gains the validation set is too small to resolve (see unresolved_gain)


def greedy_select(
    scorer: StudentScorer,
    candidates: Sequence[CandidateRule],
    valset: Sequence[dspy.Example],
    *,
    min_gain: float = 0.005,
    max_rules: int = 5,
    racing: bool = True,
    racing_z: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> SelectionResult:
    """Forward selection; ``racing`` scores trial lists by successive halving (pld.pipeline.racing) with a
    confidence margin of ``racing_z`` standard errors, deciding each round on the full validation
    set; ``racing=False`` scores every list in full."""
    current: list[CandidateRule] = []
    gains: list[float] = []
    warnings: list[str] = []
    rounds: list[SelectionRound] = []
    evaluated: list[tuple[list[str], float]] = []
    remaining = list(candidates)
    try:
        best = scorer.macro_f1([], valset)
    except BudgetExceeded as exc:
        raise BudgetExceeded(f"{exc}: not even the baseline could be scored; raise the student budget") from exc
    baseline = best
    evaluated.append(([], best))
    logger.info("baseline validation Macro F1 %.4f", baseline)
    stop_reason = "no candidate rules" if not remaining else "every candidate was selected"
    bar = tqdm(desc="greedy selection", disable=not progress, leave=False, unit=" student calls")
    scorer.on_query = bar.update
    ordered_val = race_order(valset, scorer.metric.label_field, seed)
    while remaining:
        if len(current) >= max_rules:
            stop_reason = f"reached max_rules={max_rules}"
            break
        trials: list[Trial] = []
        round_best: tuple[float, CandidateRule, int] | None = None
        options = [(c, p) for c in remaining for p in range(len(current) + 1)]
        lists = [[r.text for r in current[:p] + [c] + current[p:]] for c, p in options]
        try:
            if racing:
                results = race(scorer, lists, ordered_val, z=racing_z)
            else:
                results = []
                for texts in lists:
                    results.append((scorer.macro_f1(texts, valset), len(valset)))
            for (candidate, position), texts, (score, examples) in zip(options, lists, results):
                trials.append(Trial(candidate_id=candidate.id, position=position, val_macro_f1=score, examples=examples))
                if examples == len(valset):
                    evaluated.append((texts, score))
                    if round_best is None or score > round_best[0]:
                        round_best = (score, candidate, position)
        except BudgetExceeded as exc:
            stop_reason = f"student budget spent ({exc})"
            rounds.append(_round(len(rounds) + 1, trials, None, best, accepted=False))
            logger.warning("greedy selection stopped: %s", stop_reason)
            break
        assert round_best is not None
        score, winner, position = round_best
        gain = score - best
        accepted = gain >= min_gain and gain > 0
        rounds.append(_round(len(rounds) + 1, trials, (winner, position, score), best, accepted=accepted))
        logger.info("round %d: best %s at position %d, Macro F1 %.4f (gain %+.4f)%s", len(rounds), winner.id,
                    position, score, gain, "" if accepted else " - stop")
        if not accepted:
            stop_reason = f"best gain {gain:+.4f} below min_gain={min_gain}"
            break
        before = [r.text for r in current]
        current.insert(position, winner)
        gains.insert(position, gain)
        warning = unresolved_gain(scorer, before, [r.text for r in current], valset, gain=gain, min_gain=min_gain,
                                  what=f"rule {winner.id}")
        if warning:
            warnings.append(warning)
        remaining.remove(winner)
        best = score
    bar.close()
    scorer.on_query = None
    return SelectionResult(
        selected=current,
        gains=gains,
        baseline_val_macro_f1=baseline,
        val_macro_f1=best,
        rounds=rounds,
        stop_reason=stop_reason,
        evaluated=evaluated,
        warnings=warnings,
    )


RESOLVE_Z = 1.96  # two-sided 95%


def unresolved_gain(
    scorer: StudentScorer,
    before: Sequence[str],
    after: Sequence[str],
    valset: Sequence[dspy.Example],
    *,
    gain: float,
    min_gain: float,
    what: str,
    z: float = RESOLVE_Z,
) -> str | None:
    """A warning (also logged) when the validation set cannot tell ``after`` from ``before``.

    Both lists were scored on the whole set already, so this costs no student call. The test is
    McNemar's on the examples whose correctness changed: ``right`` turned right, ``wrong`` turned
    wrong; under "no real difference" ``right - wrong`` has standard deviation about
    ``sqrt(right + wrong)``, so the gain is resolved when ``(right - wrong) / sqrt(right + wrong) >= z``
    (with nothing turning wrong: at least 4 examples at z = 1.96). Scaling the set to ``n'`` scales
    both counts, so ``n' = n * z**2 * (right + wrong) / (right - wrong)**2`` examples would resolve a
    gain of this size at the same rates.

    For scale (why a tiny set resolves nothing): with ``k`` balanced labels over ``n`` examples,
    turning one example of label ``a`` right moves F1 of ``a`` from ``2TP/D`` to ``2(TP+1)/(D+1)``
    (``D = 2TP + FP + FN``): by about ``k/(2n)`` when ``a`` is already well predicted, up to
    ``2k/n`` when it was never predicted, plus a little for the label it was wrongly given. Macro
    F1 averages over ``k`` labels, so one example moves it by roughly ``1/(2n)`` to ``2/n``: with
    48 examples, 0.01 to 0.04, far above the default ``min_gain`` of 0.005.
    """
    gold = [str(example[scorer.metric.label_field]) for example in valset]
    old, new = scorer.labels(before, valset), scorer.labels(after, valset)
    message = gain_warning(what, gain, gold, old, new, min_gain=min_gain, z=z)
    if message:
        logger.warning(message)
    return message


def gain_warning(what: str, gain: float, gold: Sequence[str], old: Sequence[str | None],
                 new: Sequence[str | None], *, min_gain: float, z: float = RESOLVE_Z) -> str | None:
    """The message of ``unresolved_gain`` from gold labels and the two lists' predictions."""
    n = len(gold)
    right = sum(o != g and p == g for g, o, p in zip(gold, old, new))
    wrong = sum(o == g and p != g for g, o, p in zip(gold, old, new))
    net, changed = right - wrong, right + wrong
    statistic = net / math.sqrt(changed) if changed else 0.0
    if n == 0 or statistic >= z:
        return None
    if net > 0:
        needed = math.ceil(n * z * z * changed / net ** 2)
        remedy = f"about {needed} validation examples would resolve a gain of this size"
    else:
        remedy = "no validation size would: no more answers are right, errors only moved between labels"
    scale = f"one changed answer moves Macro F1 by about {0.5 / n:.3f}-{2 / n:.3f} here"
    if 0.5 / n > min_gain:
        scale += f", more than min_gain={min_gain}"
    return (f"{what} was accepted on a validation Macro F1 gain of {gain:+.4f} that {n} validation examples "
            f"cannot resolve: {right} answer(s) turned right and {wrong} turned wrong (McNemar z {statistic:.2f} "
            f"< {z}); {scale}; {remedy}.")


def _round(
    number: int, trials: list[Trial], winner: tuple[CandidateRule, int, float] | None, best: float, *, accepted: bool
) -> SelectionRound:
    if winner is None:
        return SelectionRound(round=number, trials=trials, winner_id=None, winner_position=None,
                              val_macro_f1=None, gain=None, accepted=False)
    rule, position, score = winner
    return SelectionRound(round=number, trials=trials, winner_id=rule.id, winner_position=position,
                          val_macro_f1=score, gain=score - best, accepted=accepted)
