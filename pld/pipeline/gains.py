"""How sure a Macro F1 gain is: a paired bootstrap over the examples both rule lists answered.

Selection, racing, repair and confirmation all ask the same question of two rule lists scored on
the same examples: is the new list's Macro F1 really higher, by at least ``min_gain``? Macro F1 is
a corpus metric (not a mean over examples), so its sampling error has no closed form; resampling
the examples with replacement and recomputing both lists' Macro F1 on each resample gives the
distribution of the difference. The resamples are *paired* (one set of examples for both lists):
two lists that differ on a handful of answers get a narrow interval, which is what makes racing
cheap, while unpaired margins (a binomial standard error per list) would never separate them.

The interval is a percentile interval of ``confidence`` (two-sided) from ``scipy.stats.bootstrap``.
On a few changed answers the bootstrap is overconfident (three of four answers turned right gives
an interval above zero), so a paired permutation test (``scipy.stats.permutation_test``, swapping
the two lists' answers per example; exact on small sets) must agree at the same level. A gain is
*credible* when the interval's lower end is above zero, the permutation p-value is at most
``(1 - confidence) / 2``, and the observed gain reaches ``min_gain`` (the smallest effect worth a
rule); a list *cannot reach* ``min_gain`` when the interval's upper end is below it. All
resampling is seeded, so a run is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pld.rules import GainEstimate

if TYPE_CHECKING:
    import numpy as np

__all__ = ["GainEstimate", "holm_level", "inverse_normal", "macro_f1_interval", "paired_gain"]

DEFAULT_RESAMPLES = 2000


def paired_gain(
    gold: Sequence[str],
    old: Sequence[str | None],
    new: Sequence[str | None],
    labels: Sequence[str],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> GainEstimate:
    """The gain of ``new`` over ``old`` predictions of the same examples, with its paired interval.

    Predictions outside ``labels`` (``None``, garbage) count as wrong, as in ``pld.metrics``.
    """
    import numpy as np  # here, with SciPy below: reports and records load without them (pld show stays fast)

    if not len(gold) == len(old) == len(new):
        raise ValueError(f"paired_gain needs one prediction per example: {len(gold)} gold, {len(old)} old, {len(new)} new")
    n = len(gold)
    codes = {label: index for index, label in enumerate(labels)}
    g, o, p = (np.array([codes.get(str(x), -1) if x is not None else -1 for x in seq]) for seq in (gold, old, new))
    gain = float(_macro_f1(g[None, :], p[None, :], len(labels))[0] - _macro_f1(g[None, :], o[None, :], len(labels))[0])
    changed = int(np.sum(o != p))
    if changed == 0 or n < 2:  # identical answers: no resample can tell them apart
        return GainEstimate(gain=gain, low=gain, high=gain, confidence=confidence, n=n, changed=changed)
    from scipy.stats import bootstrap, permutation_test

    def difference(index: np.ndarray, axis: int = -1) -> np.ndarray:
        index = np.asarray(index)
        return _macro_f1(g[index], p[index], len(labels)) - _macro_f1(g[index], o[index], len(labels))

    def swapped(before: np.ndarray, after: np.ndarray, axis: int = -1) -> np.ndarray:
        return _macro_f1(g, after, len(labels)) - _macro_f1(g, before, len(labels))

    interval = bootstrap((np.arange(n),), difference, vectorized=True, n_resamples=resamples, method="percentile",
                         confidence_level=confidence, rng=np.random.default_rng(seed)).confidence_interval
    # Approximate randomisation: under "no difference" each example's two answers are exchangeable.
    # Exact (every swap) when 2**n <= resamples, so a handful of changed answers is never "significant".
    p_value = permutation_test((o, p), swapped, permutation_type="samples", vectorized=True, n_resamples=resamples,
                               alternative="greater", rng=np.random.default_rng(seed + 1)).pvalue
    return GainEstimate(gain=gain, low=min(float(interval.low), gain), high=max(float(interval.high), gain),
                        confidence=confidence, n=n, changed=changed, p_value=float(p_value))


def holm_level(p_values: Sequence[float], index: int, alpha: float) -> float | None:
    """The level at which Holm's step-down procedure tests hypothesis ``index`` among ``p_values``
    (``alpha / (m - rank)``), or None when a hypothesis with a smaller p-value is not rejected
    first, so that ``index`` cannot be. The family-wise error over all ``m`` tests stays at
    ``alpha``: this is what lets a round compare many candidates and positions and keep one.
    Ties put ``index`` last (the conservative order)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (p_values[i], i == index))
    for rank, i in enumerate(order):
        level = alpha / (m - rank)
        if i == index:
            return level
        if p_values[i] > level:
            return None
    raise IndexError(f"hypothesis {index} is not among {m}")


def inverse_normal(p_values: Sequence[float], sizes: Sequence[int]) -> float:
    """One p-value from independent one-sided tests of the same null hypothesis on disjoint samples:
    the inverse normal combination (Lehmacher & Wassmer, 1999; SciPy's weighted Stouffer), each
    stage weighted by the square root of its size, so two stages weigh what one pooled sample of
    their size would. The weights are fixed by the sample sizes before any answer is seen, which is
    what keeps the combination a test at its level. p-values of 0 and 1 are clipped to keep the
    quantiles finite."""
    import numpy as np
    from scipy.stats import combine_pvalues

    if len(p_values) != len(sizes) or not p_values or min(sizes) < 1:
        raise ValueError(f"inverse_normal needs one positive size per p-value: {list(p_values)}, {list(sizes)}")
    clipped = np.clip(np.asarray(p_values, dtype=float), 1e-9, 1 - 1e-9)
    return float(combine_pvalues(clipped, method="stouffer", weights=np.sqrt(np.asarray(sizes, dtype=float))).pvalue)


def _macro_f1(gold: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 of each row (``sklearn``'s ``f1_score(average="macro", zero_division=0)`` over ``k``
    labels coded ``0..k-1``; ``-1`` is an invalid answer), vectorised over resamples."""
    import numpy as np

    scores = np.zeros(np.broadcast_shapes(gold.shape, predicted.shape)[:-1])
    for label in range(k):
        is_gold, is_predicted = gold == label, predicted == label
        tp = np.sum(is_gold & is_predicted, axis=-1)
        denominator = np.sum(is_gold, axis=-1) + np.sum(is_predicted, axis=-1)
        scores += np.divide(2 * tp, denominator, out=np.zeros_like(scores, dtype=float), where=denominator > 0)
    return scores / k


def macro_f1_interval(gold: Sequence[str], predicted: Sequence[str | None], labels: Sequence[str], *,
                      confidence: float = 0.95, resamples: int = DEFAULT_RESAMPLES,
                      seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval of one program's Macro F1 over its examples (benchmarks)."""
    import numpy as np
    from scipy.stats import bootstrap

    codes = {label: index for index, label in enumerate(labels)}
    g, p = (np.array([codes.get(str(x), -1) if x is not None else -1 for x in seq]) for seq in (gold, predicted))
    if len(g) < 2:
        value = float(_macro_f1(g, p, len(labels)))
        return value, value

    def score(index: np.ndarray, axis: int = -1) -> np.ndarray:
        index = np.asarray(index)
        return _macro_f1(g[index], p[index], len(labels))

    interval = bootstrap((np.arange(len(g)),), score, vectorized=True, n_resamples=resamples, method="percentile",
                         confidence_level=confidence, rng=np.random.default_rng(seed)).confidence_interval
    return float(interval.low), float(interval.high)
