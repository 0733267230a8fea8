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
    """Clusters (largest first) and noise traces.

    Micro-rules are clustered within each label (the gold label, or the teacher's where there is
    none): a merged rule then has one conclusion, and two rules that share their words but
    conclude different labels ("if the plan is Enterprise ..." / "if the plan is Free ...") never
    merge into one that contradicts half its sources."""
    usable = [t for t in traces if t.micro_rule]
    if len(usable) < 2:
        return [], list(usable)
    embed = embedder or TfidfEmbedder()
    vectors = np.asarray(embed([t.micro_rule for t in usable]), dtype=float)  # one vocabulary for all
    effective = scaled_min_samples(len(usable), min_samples)
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, trace in enumerate(usable):
        by_label[str(trace_label(trace))].append(index)
    clusters: list[RuleCluster] = []
    noise: list[Trace] = []
    for indices in by_label.values():
        if len(indices) < effective:
            noise.extend(usable[i] for i in indices)
            continue
        assigned = DBSCAN(eps=eps, min_samples=effective, metric="cosine").fit_predict(vectors[indices])
        groups: dict[int, list[Trace]] = defaultdict(list)
        for index, label in zip(indices, assigned):
            groups[int(label)].append(usable[index])
        noise.extend(groups.pop(-1, []))
        for members in groups.values():
            clusters.append(RuleCluster(len(clusters), tuple(members)))
    clusters.sort(key=lambda c: (-len(c.traces), c.label))
    logger.info("clustered %d micro-rules into %d clusters (min_samples=%d, within each label), %d noise",
                len(usable), len(clusters), effective, len(noise))
    return clusters, noise


def trace_label(trace: Trace) -> str | None:
    """The label a trace's micro-rule should conclude: gold where known, else the teacher's."""
    return trace.gold_label if trace.gold_label is not None else trace.teacher_label
