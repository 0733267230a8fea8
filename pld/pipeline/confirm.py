"""Confirmation: score the chosen rule lists once on validation examples that selection never saw.

Selection picks, from many lists, the one that scored best on its validation examples, so its
score there is biased upward (the winner's curse), however careful each test. A part of the
validation data held back from selection (label-stratified, seeded) gives an unbiased look: each
step that selection and repair accepted (the empty list first) is scored on it once.

For the first accepted step the held-back part is the second stage of a two-stage test, not a
test from scratch: 30 held-back examples alone are underpowered (they refused the support desk's
true Enterprise rule at +0.11, p = 0.057, and the returns desk's Gold rule at +0.16, p = 0.034),
while selection has already tested that list against no rules on its own examples. Selection's
one-sided p-value (Bonferroni-adjusted over the lists its round tried: round one's lists are fixed
before any validation answer is seen, so the adjusted p-value is valid whichever list won) and the
held-back one are combined by the inverse normal method, with weights fixed by the two sample
sizes (``pld.pipeline.gains.inverse_normal``). That step is confirmed when the combined p-value is
within its Holm level **and** its held-back gain is positive: held-back examples that see no gain
veto it, whatever selection saw. Later steps were chosen adaptively (their round's lists depend on
the earlier rounds), so no such p-value exists for them: each is tested on the held-back examples
alone, its interval at its Holm level above 0 with the permutation test agreeing. Holm's procedure
runs over all the steps' p-values.

The final list stands when confirmed; otherwise PLD returns the longest confirmed step (its
held-back score marked biased, since it was chosen on those examples), or no rules, and says so.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from pld.pipeline.gains import GainEstimate, holm_level, inverse_normal
from pld.pipeline.racing import GainTest

if TYPE_CHECKING:  # annotations only: records and reports load without DSPy (pld show)
    import dspy

    from pld.pipeline.repair import RepairRound
    from pld.pipeline.selection import SelectionRound

    from pld.pipeline.scoring import StudentScorer


class ConfirmedStep(BaseModel):
    rules: list[str]
    macro_f1: float  # on the held-back examples
    estimate: GainEstimate  # gain over no rules, on the held-back examples (at ``level`` where tested)
    confirmed: bool
    level: float | None = None  # the one-sided Holm level it was tested at (None: not tested, or could not be)
    combined_p: float | None = None  # selection's and the held-back p-value combined (None: held-back alone)


class SelectionEvidence(BaseModel):
    """Stage one for the first accepted step: what the selection examples said about it."""

    p_value: float  # one-sided, Bonferroni-adjusted over the lists its round tried
    n: int  # the selection examples it was measured on
    source: str  # where it was measured, in words

    def describe(self) -> str:
        return f"p={self.p_value:.3g} on {self.n} selection examples ({self.source})"


def selection_evidence(selection_rounds: Sequence[SelectionRound], repair_rounds: Sequence[RepairRound],
                       n: int) -> SelectionEvidence | None:
    """The first accepted round's evidence against "no list helps", or None when none was accepted.

    Its p-value is multiplied by the number of lists its round tried (Bonferroni, never below Holm's
    adjustment), so it is valid for "this list does not beat no rules" whichever list won. Repair
    tries one rewrite per round; a rewrite accepted in repair round k counts k lists tried."""
    for kind, rounds in (("selection", selection_rounds), ("repair", repair_rounds)):
        for round_ in rounds:
            if round_.accepted and round_.gain_estimate is not None:
                tried = getattr(round_, "tested", None) or round_.round  # repair rounds have no ``tested``
                return SelectionEvidence(p_value=min(1.0, round_.gain_estimate.p_value * tried), n=n,
                                         source=f"{kind} round {round_.round}, {tried} list(s) tried")
    return None


class Confirmation(BaseModel):
    """What the held-back examples said about each accepted step, and which list PLD returns."""

    n: int
    baseline_macro_f1: float
    steps: list[ConfirmedStep]
    chosen: int  # index into steps
    final_confirmed: bool
    note: str
    biased: bool = False  # the returned step was chosen on the held-back examples: its score there is optimistic
    evidence: SelectionEvidence | None = None  # stage one for the first accepted step (None: held-back alone)

    @property
    def rules(self) -> list[str]:
        return self.steps[self.chosen].rules


def split_for_confirmation(
    valset: Sequence[dspy.Example], label_field: str, *, fraction: float, min_examples: int, seed: int
) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """``(selection part, held-back part)``: each label gives ``fraction`` of its examples to the
    held-back part; no split (everything selects) when that part would be under ``min_examples``
    or would leave selection fewer examples than it holds back."""
    n_held = round(len(valset) * fraction)
    if fraction <= 0 or n_held < min_examples or len(valset) - n_held < n_held:
        return list(valset), []
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(valset):
        by_label[str(example[label_field])].append(index)
    held: set[int] = set()
    for label in sorted(by_label):
        indices = by_label[label]
        held.update(rng.sample(indices, round(len(indices) * fraction)))
    return ([ex for i, ex in enumerate(valset) if i not in held], [ex for i, ex in enumerate(valset) if i in held])


def confirm(scorer: StudentScorer, steps: Sequence[Sequence[str]], held_back: Sequence[dspy.Example],
            test: GainTest, evidence: SelectionEvidence | None = None) -> Confirmation:
    """Score every step on ``held_back`` (one student call per new pair) and choose what to return.

    Each step with rules is a test of "no gain over the empty list" at the stated level, Holm-
    corrected over the steps scored (``pld.pipeline.gains.holm_level``). With ``evidence`` (stage one
    for ``steps[1]``) the first step is confirmed when selection's and its held-back p-value,
    combined, are within its Holm level and its held-back gain is positive; every other step (and
    the first, without evidence) when its held-back interval at that level lies above 0 and the
    permutation test agrees. The final list is returned when confirmed; otherwise
    the longest confirmed step, whose held-back score is then marked biased (it was chosen on those
    examples), or no rules.

    The baseline and the final list come first (the optimizer keeps their calls back from
    selection); an intermediate step the student budget cannot pay for is left out, and said so.
    """
    from pld.errors import BudgetExceeded

    gold = [str(example[scorer.metric.label_field]) for example in held_back]
    base = scorer.labels([], held_back)
    baseline = scorer.macro_f1([], held_back)
    final = len(steps) - 1
    answers: dict[int, list[str | None]] = {}
    skipped = 0
    for index in [final, *range(1, final)]:
        try:
            answers[index] = scorer.labels(list(steps[index]), held_back)
        except BudgetExceeded:
            skipped += 1
    tested = [index for index in answers if steps[index]]
    first = {index: test.estimate(gold, base, answers[index]) for index in tested}
    combined = ({1: inverse_normal([evidence.p_value, first[1].p_value], [evidence.n, len(held_back)])}
                if evidence is not None and 1 in first else {})
    p_values = [combined.get(index, first[index].p_value) for index in tested]
    scored: dict[int, ConfirmedStep] = {}
    for position, index in enumerate(tested):
        level = holm_level(p_values, position, test.alpha)
        estimate = test.at_level(level).estimate(gold, base, answers[index]) if level is not None else first[index]
        if index in combined:
            confirmed = level is not None and combined[index] <= level and estimate.gain > 0
        else:
            confirmed = level is not None and estimate.credible(0.0)
        scored[index] = ConfirmedStep(rules=list(steps[index]), macro_f1=scorer.macro_f1(list(steps[index]), held_back),
                                      estimate=estimate, confirmed=confirmed, level=level,
                                      combined_p=combined.get(index))
    empty = test.estimate(gold, base, base)
    scored.setdefault(0, ConfirmedStep(rules=[], macro_f1=baseline, estimate=empty, confirmed=False))
    order = sorted(scored)
    ordered = [scored[i] for i in order]
    last = order.index(final)
    tail = f" ({skipped} intermediate step(s) not scored: the student budget was spent)" if skipped else ""

    def result(chosen: int, confirmed: bool, note: str, biased: bool = False) -> Confirmation:
        return Confirmation(n=len(held_back), baseline_macro_f1=baseline, steps=ordered, chosen=chosen,
                            final_confirmed=confirmed, note=note + tail, biased=biased, evidence=evidence)

    def combined_with(step: ConfirmedStep) -> str:
        if step.combined_p is None:  # set only where ``evidence`` was combined
            return ""
        return f"; with selection's {evidence.describe()}, the two stages combine to p={step.combined_p:.3g}"

    if not ordered[last].rules:
        return result(last, False, "no rules were selected; nothing to confirm")
    if ordered[last].confirmed:
        return result(last, True, f"confirmed on {len(held_back)} held-back examples: gain "
                                  f"{ordered[last].estimate.describe()}{combined_with(ordered[last])}")
    confirmed = [i for i, step in enumerate(ordered) if step.confirmed]
    chosen = max(confirmed, key=lambda i: len(ordered[i].rules)) if confirmed else 0
    what = (f"returning the confirmed step {order[chosen]} ({len(ordered[chosen].rules)} rule(s), held-back gain "
            f"{ordered[chosen].estimate.describe()}; chosen on these examples, so that score is biased upward)"
            if confirmed else "returning the program without rules")
    final_step = ordered[last]
    if final_step.level is None:
        why = "Holm's procedure stopped at a step with a smaller p-value"
    elif final_step.combined_p is None:
        why = final_step.estimate.shortfall(0.0)
    elif final_step.estimate.gain <= 0:
        why = "no gain on the held-back examples"
    else:
        why = f"the combined p={final_step.combined_p:.3g} is above its level {final_step.level:.3g}"
    return result(chosen, False, f"NOT confirmed: on {len(held_back)} held-back examples the final list's gain was "
                                 f"{final_step.estimate.describe()}{combined_with(final_step)} ({why}); {what}",
                  biased=bool(confirmed))
