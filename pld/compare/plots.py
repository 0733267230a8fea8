"""Two PNGs: test Macro F1 against run-time cost per query, and against compile cost.

matplotlib is optional (``pip install "pld[compare]"``): without it the plots are skipped with a
warning and the table and JSON are still written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pld.compare.results import CompareReport, MethodResult

logger = logging.getLogger(__name__)

RUNTIME_PNG = "quality_vs_runtime.png"
COMPILE_PNG = "quality_vs_compile_cost.png"

Axis = tuple[str, Callable[[MethodResult], float], bool]  # label, value, symlog scale


def write_plots(report: CompareReport, out: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning('matplotlib is not installed: no plots (pip install "pld[compare]")')
        return []
    done = [r for r in report.methods if r.status == "ok" and r.test is not None and r.compile is not None]
    title = f"{report.task}: student {report.student_model}, teacher {report.teacher_model}"
    runtime: list[Axis] = [
        ("tokens per query (prompt + completion)",
         lambda r: r.test.prompt_tokens_per_query + r.test.completion_tokens_per_query, False),
        ("mean latency per query (s)", lambda r: r.test.mean_latency_s, False),
    ]
    compile_cost: list[Axis] = [
        ("compile tokens (teacher + student)", lambda r: r.compile.teacher.tokens + r.compile.student.tokens, True),
        ("compile wall time (s)", lambda r: r.compile.wall_s, True),
    ]
    paths = []
    for name, axes in ((RUNTIME_PNG, runtime), (COMPILE_PNG, compile_cost)):
        figure, panels = plt.subplots(1, len(axes), figsize=(11, 4.2), sharey=True)
        for panel, (label, value, symlog) in zip(panels, axes):
            _scatter(panel, done, label, value, symlog)
        panels[0].set_ylabel("test Macro F1")
        skipped = [r.method for r in report.methods if r not in done]
        figure.suptitle(title + (f"\n(not shown, did not finish: {', '.join(skipped)})" if skipped else ""),
                        fontsize=9)
        figure.tight_layout()
        path = out / name
        figure.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(figure)
        paths.append(path)
    return paths


def _scatter(panel: Any, results: list[MethodResult], label: str, value: Callable[[MethodResult], float],
             symlog: bool) -> None:
    xs = [value(r) for r in results]
    ys = [r.test.scores.macro_f1 for r in results]
    panel.scatter(xs, ys, s=36, color="tab:blue", zorder=3)
    span = max(xs, default=0.0) or 1.0
    stacked: dict[tuple[float, float], int] = {}  # methods at the same spot get their labels stacked
    for r, x, y in zip(results, xs, ys):
        spot = (round(x / span, 2), round(y, 2))
        row = stacked[spot] = stacked.get(spot, -1) + 1
        color = "tab:red" if r.method == "pld" else "black"
        panel.annotate(r.method, (x, y), textcoords="offset points", xytext=(4, 4 - 10 * row), fontsize=8, color=color)
    if symlog:
        panel.set_xscale("symlog", linthresh=1.0)
    panel.set_xlabel(label)
    panel.grid(True, alpha=0.3)
    panel.set_ylim(-0.02, min(1.02, max(ys, default=0.0) + 0.15))
