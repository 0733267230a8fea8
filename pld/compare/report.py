"""The comparison as a reader sees it: one Markdown table (plus details) and the JSON beside it.

The Markdown depends only on the results, never on when or how often the run was resumed, so a
re-run over the same cache reproduces it byte for byte.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pld.artifacts.atomic import atomic_write_text
from pld.compare.results import CompareReport, MethodResult, Usage

logger = logging.getLogger(__name__)

NOTE = ("Calls include response-cache hits (in brackets); tokens count only calls that reached a model. "
        "Run-time columns are the compiled program on the test split, response cache off, one query at a "
        "time. *Engine check*: the embedded engine's own prompt-token counters equal the callbacks' counts "
        "for compile, validation and test (n/a: no embedded engine).")


def write_outputs(report: CompareReport, out: Path, *, plots: bool) -> None:
    """``results.json`` and ``results.md`` (atomically), and the two plots when ``plots``."""
    atomic_write_text(out / "results.json", report.model_dump_json(indent=2))
    atomic_write_text(out / "results.md", render_markdown(report))
    if plots:
        from pld.compare.plots import write_plots

        write_plots(report, out)


def render_markdown(report: CompareReport) -> str:
    s = report.settings
    digests = ", ".join(f"{role} sha256 {digest[:12]}" for role, digest in sorted(report.model_digests.items()))
    sizes = report.data_sizes
    lines = [
        f"# Optimizer comparison: {report.task}",
        "",
        f"Student `{report.student_model}`, teacher `{report.teacher_model}`" + (f" ({digests})" if digests else "")
        + f". Data: {sizes['train']} train / {sizes['val']} validation / {sizes['test']} test examples "
        f"(label-balanced samples, seed {s.seed}). Budget: {s.budget} student calls per compile where the "
        f"optimizer can be capped or sized. Student free text (chain-of-thought reasoning) capped at "
        f"{report.lm_kwargs['student'].get('max_tokens', 'the backend default number of')} tokens. "
        f"DSPy {report.versions.get('dspy')}, pld {report.versions.get('pld')}.",
        "",
        "| method | status | val Macro F1 | test Macro F1 | test accuracy | teacher calls | teacher tokens "
        "| student calls | student tokens | compile s | prompt tok/query | completion tok/query "
        "| mean latency s | p95 latency s | engine check |",
        "|---" * 15 + "|",
    ]
    lines += [_row(result) for result in report.methods]
    loads = [value for r in report.methods if r.load_avg for value in r.load_avg]
    load = (f" Machine load while the methods ran (1-minute load average): {min(loads):.1f}–{max(loads):.1f}; "
            "on a shared machine other processes slow every latency and wall time." if loads else "")
    lines += ["", NOTE + load, "", "## Per-class F1 on the test split", "",
              "| method | " + " | ".join(report.labels) + " | format failures |",
              "|---" * (len(report.labels) + 2) + "|"]
    for result in report.methods:
        if result.test is not None:
            per_class = " | ".join(f"{result.test.scores.per_class_f1.get(label, 0.0):.3f}" for label in report.labels)
            lines.append(f"| {result.method} | {per_class} | {result.test.scores.format_failures} |")
    failures = [r for r in report.methods if r.status != "ok"]
    if failures:
        lines += ["", "## Methods that did not finish", ""]
        lines += [f"- **{r.method}** — {r.status}: {r.error}" for r in failures]
    lines += ["", "## Settings of each method", ""]
    for result in report.methods:
        settings = ", ".join(f"{key}={value}" for key, value in result.settings.items())
        lines.append(f"- **{result.method}** ({result.description}): {settings or 'no settings'}")
    return "\n".join(lines) + "\n"


def method_markdown(result: MethodResult) -> str:
    """The short report kept inside each method's artifact."""
    lines = [f"# {result.method}", "", result.description, "", f"status: {result.status}"]
    for name, split in (("validation", result.val), ("test", result.test)):
        if split is not None:
            lines.append(f"{name}: Macro F1 {split.scores.macro_f1:.4f}, accuracy {split.scores.accuracy:.4f} "
                         f"on {split.scores.n} examples")
    if result.compile is not None:
        c = result.compile
        lines.append(f"compile: teacher {_calls(c.teacher)} calls, student {_calls(c.student)} calls, {c.wall_s:.1f} s")
    lines += ["", "settings:", *(f"- {key}: {value}" for key, value in result.settings.items())]
    return "\n".join(lines) + "\n"


def _row(r: MethodResult) -> str:
    status = r.status if r.status == "ok" else f"**{r.status}**"
    c = r.compile
    compile_cells = ([_calls(c.teacher), str(c.teacher.tokens), _calls(c.student), str(c.student.tokens),
                      f"{c.wall_s:.1f}"] if c else ["–"] * 5)
    if r.val is None or r.test is None:
        quality = ["–"] * 3
        runtime = ["–"] * 4
    else:
        t = r.test
        quality = [f"{r.val.scores.macro_f1:.3f}", f"{t.scores.macro_f1:.3f}", f"{t.scores.accuracy:.3f}"]
        runtime = [f"{t.prompt_tokens_per_query:.0f}", f"{t.completion_tokens_per_query:.1f}",
                   f"{t.mean_latency_s:.3f}", f"{t.p95_latency_s:.3f}"]
    match = r.engine_counts_match
    check = "n/a" if match is None else ("✓" if match else "✗")
    return "| " + " | ".join([r.method, status, *quality, *compile_cells, *runtime, check]) + " |"


def _calls(usage: Usage) -> str:
    return f"{usage.calls} ({usage.cache_hits})" if usage.cache_hits else str(usage.calls)
