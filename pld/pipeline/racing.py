"""Racing: score many rule lists on growing validation subsets and drop those that cannot win.

Racing and the acceptance test are one statistic (``pld.pipeline.gains``): each list is compared
with the incumbent (the current rule list) by a paired bootstrap of the Macro F1 difference on
the examples scored so far. A list is
dropped as soon as its interval says it cannot be accepted (the upper end is below ``min_gain``,
or even an optimistic rest of the validation set could not make the gain credible: stochastic
curtailment, ``GainEstimate.can_be_accepted_on``), or that it cannot beat the stage's leader
(the upper end of its difference to the leader is below zero). Subsets are prefixes of one seeded, label-interleaved order, so a list that goes on to the
next stage only pays for the new examples; the survivors are scored on the full validation set,
which alone decides the winner. The incumbent is scored stage by stage as well: when every list
leaves early, its answers beyond the last stage are never asked for.

Most candidate lists change only a few of the student's answers, so their paired intervals are
narrow and the lists that change nothing, or only for the worse, leave after the first stage.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pld.pipeline.gains import GainEstimate, paired_gain

if TYPE_CHECKING:  # annotations only: records and reports load without DSPy (pld show)
    import dspy

    from pld.pipeline.scoring import StudentScorer


def race_order(valset: Sequence[dspy.Example], label_field: str, seed: int) -> list[dspy.Example]:
    """A seeded order that interleaves the labels, so every prefix is close to label-balanced."""
    rng = random.Random(seed)
    by_label: dict[str, list[dspy.Example]] = defaultdict(list)
    for example in valset:
        by_label[str(example[label_field])].append(example)
    queues = [by_label[label] for label in sorted(by_label)]
    for queue in queues:
        rng.shuffle(queue)
    ordered: list[dspy.Example] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop())
    return ordered


def stage_sizes(n: int, *, eta: int, min_examples: int) -> list[int]:
    """Subset sizes, smallest first, each ``eta`` times the one before, ending with the full set (``n``)."""
    sizes = [n]
    while sizes[0] > 1 and math.ceil(sizes[0] / eta) >= min_examples:
        sizes.insert(0, math.ceil(sizes[0] / eta))
    return sizes


@dataclass(frozen=True)
class Outcome:
    """One list's race: its Macro F1 and gain over the incumbent on the ``examples`` it was scored
    on, and why it was dropped (None when it ran the full set)."""

    macro_f1: float
    examples: int
    estimate: GainEstimate
    dropped: str | None = None
    futile: bool = False  # dropped because its gain's upper end was below min_gain: it credibly does not help


@dataclass(frozen=True)
class GainTest:
    """The acceptance test's settings, shared by racing, selection, repair and confirmation."""

    labels: tuple[str, ...]
    min_gain: float = 0.01
    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 0

    @property
    def alpha(self) -> float:
        """The one-sided level of one comparison."""
        return (1 - self.confidence) / 2

    def at_level(self, alpha: float) -> GainTest:
        """The same test at one-sided level ``alpha`` (a multiplicity-corrected level), with enough
        resamples that the permutation p-value and the interval's tail can resolve it."""
        return dataclasses.replace(self, confidence=1 - 2 * alpha, resamples=max(self.resamples, math.ceil(20 / alpha)))

    def estimate(self, gold: Sequence[str], old: Sequence[str | None], new: Sequence[str | None]) -> GainEstimate:
        return paired_gain(gold, old, new, self.labels, confidence=self.confidence, resamples=self.resamples,
                           seed=self.seed)


def race(
    scorer: StudentScorer,
    lists: Sequence[Sequence[str]],
    ordered_val: Sequence[dspy.Example],
    incumbent: Sequence[str],
    test: GainTest,
    *,
    eta: int = 2,
    min_examples: int = 12,
    racing: bool = True,
) -> list[Outcome]:
    """Each list's outcome; the lists never dropped were scored on all of ``ordered_val``.
    ``racing=False``: one stage, every list on the whole set (exhaustive scoring)."""
    label_field = scorer.metric.label_field
    gold = [str(example[label_field]) for example in ordered_val]
    sizes = stage_sizes(len(ordered_val), eta=eta, min_examples=min_examples) if racing else [len(ordered_val)]
    outcomes: dict[int, Outcome] = {}
    alive = list(range(len(lists)))
    for size in sizes:
        subset = ordered_val[:size]
        base = scorer.labels(incumbent, subset)  # the incumbent races too: scored only as far as a list goes
        answers = {index: scorer.labels(lists[index], subset) for index in alive}
        for index in alive:
            estimate = test.estimate(gold[:size], base[:size], answers[index])
            outcomes[index] = Outcome(_macro_f1(test, gold[:size], answers[index]), size, estimate)
        if size == len(ordered_val):
            break
        alive = _survivors(alive, outcomes, answers, gold[:size], test, len(ordered_val))
        if not alive:
            break
    return [outcomes[index] for index in range(len(lists))]


def _survivors(alive: list[int], outcomes: dict[int, Outcome], answers: dict[int, list[str | None]],
               gold: list[str], test: GainTest, total: int) -> list[int]:
    """Drop, with the reason recorded, the lists that cannot be accepted (now, or on all ``total``
    examples) or cannot beat the leader."""
    survivors = []
    for index in alive:
        estimate = outcomes[index].estimate
        if not estimate.can_reach(test.min_gain):
            outcomes[index] = _drop(outcomes[index], f"gain over the current list at most {estimate.high:+.3f} "
                                                     f"< min_gain={test.min_gain} on {estimate.n} examples",
                                    futile=True)
        elif not estimate.can_be_accepted_on(total, test.min_gain):
            outcomes[index] = _drop(outcomes[index], f"gain {estimate.describe()} cannot become credible on "
                                                     f"{total} examples, even if the rest showed {estimate.high:+.3f}")
        else:
            survivors.append(index)
    if len(survivors) < 2:
        return survivors
    leader = max(survivors, key=lambda i: (outcomes[i].macro_f1, -i))
    kept = []
    for index in survivors:
        behind = test.estimate(gold, answers[leader], answers[index]) if index != leader else None
        if behind is not None and behind.high < 0:
            outcomes[index] = _drop(outcomes[index], f"behind the stage leader by {behind.describe()}")
        else:
            kept.append(index)
    return kept


def _drop(outcome: Outcome, reason: str, *, futile: bool = False) -> Outcome:
    return Outcome(outcome.macro_f1, outcome.examples, outcome.estimate, dropped=reason, futile=futile)


def _macro_f1(test: GainTest, gold: Sequence[str], predicted: Sequence[str | None]) -> float:
    from pld.metrics import score_labels

    return score_labels(gold, predicted, test.labels).macro_f1
