"""Greedy forward selection and ordering of candidate rules by validation Macro F1.

Each round tries every remaining candidate at every position of the current list (racing drops
the lists that cannot win early) and keeps the best list only when its gain over the current list
is credible with the whole round counted: every list tried is one test, and the winner must pass
at its Holm level over them (``pld.pipeline.gains.holm_level``), its paired bootstrap interval of
the Macro F1 difference re-estimated at that level lying above zero and above ``min_gain``. Selection stops at the first round without a
credible gain, at ``max_rules``, or when the student budget is spent. Every trial is recorded
with its interval, and every accepted list is kept as a step for the confirmation stage.

Selection is lazy by default: a candidate whose every list racing dropped as futile (its gain's
upper end below ``min_gain``) is not tried again in later rounds. A rule that credibly did not
help is unlikely to help once other rules are in (diminishing returns), and retrying it costs most
of a later round's student calls. Its lists still count in the later rounds' Holm families, as
tests that failed, so laziness never makes acceptance easier.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel
from tqdm.auto import tqdm

from pld.errors import BudgetExceeded
from pld.metrics import LabelScores
from pld.pipeline.gains import GainEstimate, holm_level
from pld.pipeline.racing import GainTest, Outcome, race, race_order
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
    gain_low: float | None = None  # the gain's interval over the current list, on those examples
    gain_high: float | None = None
    dropped: str | None = None  # why racing stopped scoring it


class SelectionRound(BaseModel):
    round: int
    trials: list[Trial]
    winner_id: str | None
    winner_position: int | None
    val_macro_f1: float | None
    gain: float | None
    accepted: bool
    gain_estimate: GainEstimate | None = None  # the winner's gain over the current list, full validation set
    tested: int | None = None  # lists compared with the current one this round (the multiplicity family)
    holm_level: float | None = None  # the one-sided level the winner was tested at (None: it could not be)
    not_retried: list[str] = []  # candidates an earlier round showed futile: not scored, counted as failed tests


class SelectionResult(BaseModel):
    selected: list[CandidateRule]
    gains: list[float]  # the validation gain each rule brought when it was added
    estimates: list[GainEstimate] = []  # each rule's gain with its interval, in list order
    baseline_val_macro_f1: float
    val_macro_f1: float
    # Validation examples the baseline (no rules) was scored on: all of them unless racing dropped
    # every list early, so the incumbent was never needed on the rest. None: all (older reports).
    baseline_examples: int | None = None
    baseline_scores: LabelScores | None = None  # the baseline's scores on those examples
    rounds: list[SelectionRound]
    stop_reason: str
    # Every rule list scored on the full validation set, and the baseline (on ``baseline_examples``).
    evaluated: list[tuple[list[str], float]]
    steps: list[list[str]] = []  # the accepted lists in turn, from [] (the baseline) to the selected list
    warnings: list[str] = []


def greedy_select(
    scorer: StudentScorer,
    candidates: Sequence[CandidateRule],
    valset: Sequence[dspy.Example],
    *,
    min_gain: float = 0.01,
    max_rules: int = 5,
    racing: bool = True,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    progress: bool = True,
    retry_futile: bool = False,
) -> SelectionResult:
    """Forward selection: a rule enters (at its best position) only when its gain over the current
    list is credible (``pld.pipeline.gains``: the paired interval excludes 0 and the gain reaches
    ``min_gain``). ``racing`` drops trial lists early by the same statistic (pld.pipeline.racing);
    ``racing=False`` scores every list on the whole validation set. ``retry_futile=True`` tries
    every remaining candidate in every round (no lazy skipping; see the module's docstring).

    The baseline races like any incumbent: it is scored on the examples the lists it is compared
    with reached, so a run where racing drops every list early never asks the student about the
    baseline on the rest (``baseline_examples`` says on how many it was scored)."""
    test = GainTest(labels=tuple(scorer.metric.labels or ()), min_gain=min_gain, confidence=confidence,
                    resamples=resamples, seed=seed)
    current: list[CandidateRule] = []
    gains: list[float] = []
    estimates: list[GainEstimate] = []
    rounds: list[SelectionRound] = []
    evaluated: list[tuple[list[str], float]] = []
    remaining = list(candidates)
    if not remaining:  # nothing to race against: the report still gets the baseline's score
        _baseline_scores(scorer, valset)
    steps: list[list[str]] = [[]]
    best: float | None = None  # the current list's Macro F1 on the whole validation set, once known
    stop_reason = "no candidate rules" if not remaining else "every candidate was selected"
    bar = tqdm(desc="greedy selection", disable=not progress, leave=False, unit=" student calls")
    scorer.on_query = bar.update
    ordered_val = race_order(valset, scorer.metric.label_field, seed)
    futile: set[str] = set()  # candidates whose every list an earlier round dropped as futile
    while remaining:
        if len(current) >= max_rules:
            stop_reason = f"reached max_rules={max_rules}"
            break
        trials: list[Trial] = []
        round_best: tuple[float, CandidateRule, int, GainEstimate, int] | None = None
        texts_now = [r.text for r in current]
        skipped = [c.id for c in remaining if c.id in futile and not retry_futile]
        options = [(c, p) for c in remaining if c.id not in skipped for p in range(len(current) + 1)]
        lists = [[r.text for r in current[:p] + [c] + current[p:]] for c, p in options]
        untested = len(skipped) * (len(current) + 1)  # the skipped lists: failed tests of this round's family
        if not options:
            stop_reason = "every remaining candidate was futile in an earlier round (retry_futile=False)"
            rounds.append(_round(len(rounds) + 1, trials, None, best, accepted=False, tested=untested,
                                 not_retried=skipped))
            break
        try:
            outcomes = race(scorer, lists, ordered_val, texts_now, test, racing=racing)
            for index, ((candidate, position), texts, outcome) in enumerate(zip(options, lists, outcomes)):
                estimate = outcome.estimate
                trials.append(Trial(candidate_id=candidate.id, position=position, val_macro_f1=outcome.macro_f1,
                                    examples=outcome.examples, gain_low=estimate.low, gain_high=estimate.high,
                                    dropped=outcome.dropped))
                if outcome.examples == len(valset):
                    evaluated.append((texts, outcome.macro_f1))
                    if round_best is None or outcome.macro_f1 > round_best[0]:
                        round_best = (outcome.macro_f1, candidate, position, estimate, index)
        except BudgetExceeded as exc:
            stop_reason = f"student budget spent ({exc})"
            rounds.append(_round(len(rounds) + 1, trials, None, best, accepted=False, not_retried=skipped))
            logger.warning("greedy selection stopped: %s", stop_reason)
            break
        futile |= _futile_candidates(options, outcomes)
        if round_best is None:  # racing dropped every list: none can reach min_gain
            stop_reason = "no candidate list can reach a credible gain of min_gain"
            rounds.append(_round(len(rounds) + 1, trials, None, best, accepted=False, tested=len(lists) + untested,
                                 not_retried=skipped))
            break
        if best is None:  # a list reached the full set, so the incumbent was scored there too
            best = scorer.macro_f1([], valset)
        score, winner, position, estimate, index = round_best
        # Every list of the round was a test: the winner's gain must hold at its Holm level over all
        # of them (a list racing dropped counts as a test that failed), re-estimated at that level.
        p_values = [o.estimate.p_value if o.examples == len(valset) else 1.0 for o in outcomes] + [1.0] * untested
        level = holm_level(p_values, index, test.alpha)
        if level is not None:
            estimate = test.at_level(level).estimate(
                [str(example[scorer.metric.label_field]) for example in ordered_val],
                scorer.labels(texts_now, ordered_val), scorer.labels(lists[index], ordered_val))
        accepted = level is not None and estimate.credible(min_gain)
        rounds.append(_round(len(rounds) + 1, trials, (winner, position, score, estimate), best, accepted=accepted,
                             tested=len(p_values), level=level, not_retried=skipped))
        logger.info("round %d: best %s at position %d, Macro F1 %.4f, gain %s%s", len(rounds), winner.id,
                    position, score, estimate.describe(), "" if accepted else " - stop")
        if not accepted:
            stop_reason = (f"best gain {estimate.describe()} is not credible at Holm's level "
                           f"{_level(level)} over the round's {len(p_values)} lists (needs the interval's lower end "
                           f"above 0 and at least min_gain={min_gain}, and the permutation test to agree)")
            break
        current.insert(position, winner)
        gains.insert(position, score - best)
        estimates.insert(position, estimate)
        steps.append([r.text for r in current])
        remaining.remove(winner)
        best = score
    bar.close()
    scorer.on_query = None
    baseline_scored = scorer.answered([], ordered_val)  # a prefix of the race order
    baseline_scores = _baseline_scores(scorer, baseline_scored)
    baseline = baseline_scores.macro_f1
    evaluated.insert(0, ([], baseline))
    logger.info("baseline validation Macro F1 %.4f on %d of %d examples", baseline, len(baseline_scored),
                len(valset))
    return SelectionResult(
        selected=current,
        gains=gains,
        estimates=estimates,
        baseline_val_macro_f1=baseline,
        val_macro_f1=best if current else baseline,
        baseline_examples=len(baseline_scored),
        baseline_scores=baseline_scores,
        rounds=rounds,
        stop_reason=stop_reason,
        evaluated=evaluated,
        steps=steps,
    )


def _baseline_scores(scorer: StudentScorer, examples: Sequence[dspy.Example]) -> LabelScores:
    """The baseline's scores on ``examples``; a budget that cannot pay for it ends the run."""
    if not examples:
        raise BudgetExceeded("the student budget is spent: not even the baseline could be scored; "
                             "raise the student budget")
    try:
        return scorer.scores([], examples)
    except BudgetExceeded as exc:
        raise BudgetExceeded(f"{exc}: not even the baseline could be scored; raise the student budget") from exc


def _futile_candidates(options: Sequence[tuple[CandidateRule, int]], outcomes: Sequence[Outcome]) -> set[str]:
    """The candidates whose every list (one per position) racing dropped as futile this round."""
    verdicts: dict[str, bool] = {}
    for (candidate, _), outcome in zip(options, outcomes):
        verdicts[candidate.id] = verdicts.get(candidate.id, True) and outcome.futile
    return {candidate_id for candidate_id, futile in verdicts.items() if futile}


def _level(level: float | None) -> str:
    return "(none: a list with a smaller p-value failed first)" if level is None else f"{level:.2g}"


def _round(number: int, trials: list[Trial], winner: tuple[CandidateRule, int, float, GainEstimate] | None,
           best: float | None, *, accepted: bool, tested: int | None = None,
           level: float | None = None, not_retried: Sequence[str] = ()) -> SelectionRound:
    if winner is None:
        return SelectionRound(round=number, trials=trials, winner_id=None, winner_position=None,
                              val_macro_f1=None, gain=None, accepted=False, tested=tested,
                              not_retried=list(not_retried))
    rule, position, score, estimate = winner
    assert best is not None, "a winner is only chosen once the current list is scored on the full set"
    return SelectionRound(round=number, trials=trials, winner_id=rule.id, winner_position=position,
                          val_macro_f1=score, gain=score - best, accepted=accepted, gain_estimate=estimate,
                          tested=tested, holm_level=level, not_retried=list(not_retried))
