"""Compare PLD with DSPy's other optimizers on the same data, student, teacher and budget.

``compare(CompareSettings(...), out)`` runs the methods on a task of the suite; ``run_comparison``
takes your own program factory, data and LMs. Both write ``results.json``, ``results.md``, two
PNG plots and one artifact per method under ``out``, and resume from what ``out`` already holds.
Both take ``methods=[...]``: built-in names (``method_names()``) and ``Method`` objects of your own.

Names are imported on first use (PEP 562), so the command line reads ``pld.compare.settings``
without importing DSPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pld.lazy import lazy_exports

if TYPE_CHECKING:
    from pld.compare.method import Method, MethodContext, MethodUnavailable
    from pld.compare.methods import BUILTIN_METHODS, METHODS, get_method, method_names
    from pld.compare.peers import FeedbackMetric
    from pld.compare.results import CompareReport, CompileCost, EngineCheck, MethodResult, SplitResult, Usage
    from pld.compare.runner import InjectedFailure, run_comparison, run_method
    from pld.compare.settings import DEFAULT_METHODS, CompareSettings
    from pld.compare.suite import compare

_LAZY: dict[str, str] = {
    **dict.fromkeys(("Method", "MethodContext", "MethodUnavailable"), "pld.compare.method"),
    **dict.fromkeys(("BUILTIN_METHODS", "METHODS", "get_method", "method_names"), "pld.compare.methods"),
    "FeedbackMetric": "pld.compare.peers",
    **dict.fromkeys(("CompareReport", "CompileCost", "EngineCheck", "MethodResult", "SplitResult", "Usage"),
                    "pld.compare.results"),
    **dict.fromkeys(("InjectedFailure", "run_comparison", "run_method"), "pld.compare.runner"),
    **dict.fromkeys(("DEFAULT_METHODS", "CompareSettings"), "pld.compare.settings"),
    "compare": "pld.compare.suite",
}

__all__ = [
    "BUILTIN_METHODS",
    "DEFAULT_METHODS",
    "METHODS",
    "CompareReport",
    "CompareSettings",
    "CompileCost",
    "EngineCheck",
    "FeedbackMetric",
    "InjectedFailure",
    "Method",
    "MethodContext",
    "MethodResult",
    "MethodUnavailable",
    "SplitResult",
    "Usage",
    "compare",
    "get_method",
    "method_names",
    "run_comparison",
    "run_method",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
