"""Plain-text tables for the terminal."""

from __future__ import annotations

from pld.backends.label_paths import LabelPaths, describe_label_paths
from pld.evaluate import EvalReport


def eval_table(task: str, student: str, strategy: str, report: EvalReport) -> str:
    scores = report.scores
    width = max(len(label) for label in scores.labels) + 2
    lines = [
        f"task {task} | student {student} | strategy {strategy} | {scores.n} examples",
        f"  Macro F1          {scores.macro_f1:.4f}",
        f"  accuracy          {scores.accuracy:.4f}",
        f"  format failures   {scores.format_failures}",
        "  per-class F1      " + "  ".join(f"{label}={value:.3f}" for label, value in scores.per_class_f1.items()),
        f"  student calls     {report.calls} ({report.cache_hits} from cache)",
        f"  tokens            {report.input_tokens} prompt, {report.output_tokens} completion",
        f"  latency           {report.mean_latency_s:.3f} s mean, {report.p95_latency_s:.3f} s p95 per example",
        "  confusion (rows gold, columns predicted):",
        "  " + "".ljust(width) + "".join(label.ljust(width) for label in [*scores.labels, "invalid"]),
    ]
    for label, row in zip(scores.labels, scores.confusion):
        lines.append("  " + label.ljust(width) + "".join(str(count).ljust(width) for count in row))
    if report.label_decoding is not None:
        lines.insert(8, label_paths_line(report.label_decoding))
    return "\n".join(lines)


def label_paths_line(counts: LabelPaths) -> str:
    """Which path decoded a served student's labels, and why scoring fell back: a scored label and
    one constrained by a grammar or schema can differ, so the table says how many of each."""
    return f"  label paths       {describe_label_paths(counts)}"
