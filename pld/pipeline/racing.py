"""Racing: score many rule lists on growing validation subsets and drop those that cannot win.

Successive halving (with elimination factor ``eta``) guarded by a confidence margin: every list is
scored on a small, label-balanced subset; the best ``1/eta`` go on to a subset ``eta`` times
larger, together with every list within ``z`` standard errors (``0.5 / sqrt(size)``, the widest
binomial one) of the stage's best, so noise on a small subset does not drop a list that could still
win; the last survivors are scored on the full validation set, which alone decides the winner. Subsets are
prefixes of one fixed order, so a list promoted to the next stage only pays for the new examples.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

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
    """Subset sizes, smallest first, ending with the full set (``n``)."""
    sizes = [n]
    while math.ceil(sizes[0] / eta) >= min_examples:
        sizes.insert(0, math.ceil(sizes[0] / eta))
    return sizes


def race(
    scorer: StudentScorer,
    lists: Sequence[list[str]],
    ordered_val: Sequence[dspy.Example],
    *,
    eta: int = 4,
    min_examples: int = 30,
    z: float = 0.5,
) -> list[tuple[float, int]]:
    """``(Macro F1, examples it was measured on)`` for every list; survivors on the full set."""
    sizes = stage_sizes(len(ordered_val), eta=eta, min_examples=min_examples)
    results: list[tuple[float, int]] = [(0.0, 0)] * len(lists)
    alive = list(range(len(lists)))
    for stage, size in enumerate(sizes):
        subset = ordered_val[:size]
        for index in alive:
            results[index] = (scorer.macro_f1(lists[index], subset), size)
        if stage == len(sizes) - 1:
            break
        keep = max(1, math.ceil(len(alive) / eta))
        ranked = sorted(alive, key=lambda i: -results[i][0])  # stable: ties keep the earlier list
        floor = results[ranked[0]][0] - z * 0.5 / math.sqrt(size)
        alive = sorted(set(ranked[:keep]) | ({i for i in alive if results[i][0] >= floor} if z > 0 else set()))
    return results
