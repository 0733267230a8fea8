"""Micro-rules into candidate rules: embed, DBSCAN on cosine distance, merge each cluster.

The default embedder is TF-IDF (scikit-learn): offline, no model download. ``make_embedder("minilm")``
gives sentence embeddings instead (``pld.pipeline.embedders``); any callable that maps a list of
strings to a 2-D array works, ``dspy.Embedder`` included.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import DBSCAN

from pld.pipeline.embedders import Embedder, TfidfEmbedder
from pld.rules import Trace

logger = logging.getLogger(__name__)

__all__ = ["Embedder", "RuleCluster", "TfidfEmbedder", "cluster_traces", "scaled_min_samples"]


@dataclass(frozen=True)
class RuleCluster:
    """Traces whose micro-rules DBSCAN put together; ``label == -1`` marks noise."""

    label: int
    traces: tuple[Trace, ...]


def scaled_min_samples(n_rules: int, min_samples: int) -> int:
    """The paper's min_samples=6 assumes hundreds of rules; a small run scales it down (never below 2)."""
    return max(2, min(min_samples, round(n_rules / 25)))


def cluster_traces(
    traces: Sequence[Trace],
    embedder: Embedder | None = None,
    *,
    eps: float = 0.4,
    min_samples: int = 6,
) -> tuple[list[RuleCluster], list[Trace]]:
    """Clusters (largest first) and noise traces."""
    usable = [t for t in traces if t.micro_rule]
    if len(usable) < 2:
        return [], list(usable)
    vectors = np.asarray((embedder or TfidfEmbedder())([t.micro_rule for t in usable]), dtype=float)
    effective = scaled_min_samples(len(usable), min_samples)
    labels = DBSCAN(eps=eps, min_samples=effective, metric="cosine").fit_predict(vectors)
    groups: dict[int, list[Trace]] = defaultdict(list)
    for trace, label in zip(usable, labels):
        groups[int(label)].append(trace)
    clusters = [RuleCluster(label, tuple(members)) for label, members in groups.items() if label != -1]
    clusters.sort(key=lambda c: (-len(c.traces), c.label))
    logger.info("clustered %d micro-rules into %d clusters (min_samples=%d), %d noise",
                len(usable), len(clusters), effective, len(groups.get(-1, [])))
    return clusters, groups.get(-1, [])
