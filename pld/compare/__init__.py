"""Compare PLD with DSPy's other optimizers on the same data, student, teacher and budget.

``compare(CompareSettings(...), out)`` runs the methods on a task of the suite; ``run_comparison``
takes your own program factory, data and LMs. Both write ``results.json``, ``results.md``, two
PNG plots and one artifact per method under ``out``, and resume from what ``out`` already holds.
"""

from pld.compare.peers import FeedbackMetric
from pld.compare.registry import METHODS, Method, MethodContext, MethodUnavailable, get_method, method_names, register_method
from pld.compare.results import CompareReport, CompileCost, EngineCheck, MethodResult, SplitResult, Usage
from pld.compare.runner import InjectedFailure, run_comparison, run_method
from pld.compare.settings import DEFAULT_METHODS, CompareSettings
from pld.compare.suite import compare

__all__ = [
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
    "register_method",
    "run_comparison",
    "run_method",
]
