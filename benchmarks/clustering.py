"""Clustering micro-rules: TF-IDF vs MiniLM sentence embeddings on real teacher traces.

Collects label-conditioned teacher traces on training rows (the compile job's prompts, so the
response cache is shared with it), screens them with rule hygiene as PLD does, embeds the
micro-rules with each embedder once, and runs ``cluster_traces`` (DBSCAN, cosine) over a sweep of
``eps`` at the default ``min_samples`` (scaled to the number of rules). For each setting:
clusters, noise, and purity — the fraction of clustered micro-rules whose gold label is their
cluster's majority gold label (and the same for the label the micro-rule itself names), next to
the purity of random clusters of the same sizes (chance). Noise is left out of purity; the
``clustered`` column says how many rules it covers.

Run: python benchmarks/clustering.py [--task stereoset --rows 72]   (needs the `embed` extra)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from _common import DATA_DIR, save_result

EPS_SWEEP = (0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="stereoset")
    parser.add_argument("--rows", type=int, default=72, help="training rows (one teacher trace each)")
    parser.add_argument("--teacher", default="local/qwen2.5-0.5b")
    parser.add_argument("--eps", type=float, nargs="+", default=list(EPS_SWEEP))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None, help="DSPy response cache (default: a fresh empty one)")
    parser.add_argument("--traces-from", default=None, metavar="REPORT_JSON",
                        help="cluster the traces of a compile's report.json instead of collecting new ones")
    parser.add_argument("--name", default=None, help="results/clustering-<name>.json (default: the task)")
    args = parser.parse_args()
    os.environ["DSPY_CACHEDIR"] = args.cache_dir or tempfile.mkdtemp(prefix="pld-clustering-")

    traces, trace_s = _traces(args) if args.traces_from is None else (_report_traces(args.traces_from), 0.0)
    from pld.pipeline.clustering import cluster_traces, scaled_min_samples
    from pld.pipeline.embedders import make_embedder
    from pld.pipeline.hygiene import screen_traces
    from pld.tasks import get_task

    labels = get_task(args.task).labels
    usable, refused = screen_traces(traces, labels)
    usable = [t for t in usable if t.micro_rule]
    texts = [t.micro_rule for t in usable]
    named = {t.example_key: _named_label(t.micro_rule, labels) for t in usable}
    result: dict = {"settings": {k: v for k, v in vars(args).items() if k not in ("cache_dir", "traces_from")}, "traces": len(traces), "trace_s": round(trace_s, 1),
                    "passing_hygiene": len(usable), "min_samples": scaled_min_samples(len(usable), 6),
                    "gold_labels": dict(Counter(t.gold_label for t in usable)),
                    "micro_rules_naming_gold": sum(named[t.example_key] == t.gold_label for t in usable),
                    "embedders": {}}
    print(f"{len(traces)} traces in {trace_s:.0f} s, {len(usable)} pass hygiene; "
          f"{result['micro_rules_naming_gold']} name their gold label", file=sys.stderr)
    for name in ("tfidf", "minilm"):
        started = time.perf_counter()
        vectors = np.asarray(make_embedder(name)(texts), dtype=float)
        embed_s = time.perf_counter() - started
        rows = []
        for eps in args.eps:
            clusters, noise = cluster_traces(usable, lambda _: vectors, eps=eps)
            rows.append({"eps": eps, "clusters": len(clusters), "noise": len(noise),
                         "clustered": sum(len(c.traces) for c in clusters),
                         "sizes": [len(c.traces) for c in clusters],
                         "purity_gold": _purity([[t.gold_label for t in c.traces] for c in clusters]),
                         "purity_named": _purity([[named[t.example_key] for t in c.traces] for c in clusters]),
                         "purity_gold_chance": _chance_purity([len(c.traces) for c in clusters],
                                                              [t.gold_label for t in usable]),
                         "purity_named_chance": _chance_purity([len(c.traces) for c in clusters],
                                                               [named[t.example_key] for t in usable]),
                         "examples": [[t.micro_rule for t in c.traces[:3]] for c in clusters[:3]]})
        result["embedders"][name] = {"embed_s": round(embed_s, 2), "sweep": rows}
        for row in rows:
            print(f"{name:6} eps {row['eps']:.2f}: {row['clusters']} clusters, {row['noise']} noise, purity gold "
                  f"{row['purity_gold']} (chance {row['purity_gold_chance']}), named {row['purity_named']} "
                  f"(chance {row['purity_named_chance']}), sizes {row['sizes']}", file=sys.stderr)
    result["micro_rules"] = [{"gold": t.gold_label, "rule": t.micro_rule} for t in usable]
    result["refused"] = [f"{r.kind}: {r.text}" for r in refused]
    save_result(f"clustering-{args.name or args.task}", result)


def _traces(args: argparse.Namespace) -> tuple[list, float]:
    """Label-conditioned traces on a seeded, label-balanced sample of training rows, as a compile collects them."""
    from pld.backends.lm import make_lm
    from pld.jobs import sample
    from pld.pipeline.teacher import Teacher
    from pld.pipeline.traces import collect_traces, program_task
    from pld.tasks import get_task

    task = get_task(args.task)
    rows = sample(task, task.load_splits(str(DATA_DIR), seed=args.seed).train, args.rows, args.seed)
    started = time.perf_counter()
    traces = collect_traces(Teacher(task.labels), make_lm(args.teacher), rows,
                            task=program_task(task.make_program(), task.label_field, task.labels),
                            label_field=task.label_field, progress=False)
    return traces, time.perf_counter() - started


def _report_traces(path: str) -> list:
    import json

    from pld.rules import Trace

    return [Trace(**trace) for trace in json.loads(Path(path).read_text(encoding="utf-8"))["traces"]]


def _purity(groups: list[list[str | None]]) -> float | None:
    """Share of members that carry their group's most common label (None: nothing clustered)."""
    members = sum(len(group) for group in groups)
    if not members:
        return None
    return round(sum(Counter(group).most_common(1)[0][1] for group in groups) / members, 3)


def _chance_purity(sizes: list[int], gold: list[str | None], draws: int = 500) -> float | None:
    """Purity of clusters of the same sizes filled with randomly drawn rules (the floor to beat)."""
    if not sizes:
        return None
    rng = np.random.default_rng(0)
    values = []
    for _ in range(draws):
        shuffled = list(rng.permutation(np.array(gold, dtype=object)))
        groups, start = [], 0
        for size in sizes:
            groups.append(shuffled[start:start + size])
            start += size
        values.append(_purity(groups))
    return round(float(np.mean(values)), 3)


def _named_label(rule: str, labels: tuple[str, ...]) -> str | None:
    """The last label a micro-rule names ("anti-stereotype" before "stereotype")."""
    pattern = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    found = re.findall(rf"(?<![\w-])({pattern})(?![\w-])", rule, flags=re.I)
    return {label.lower(): label for label in labels}[found[-1].lower()] if found else None


if __name__ == "__main__":
    main()
