"""PLD: Prompt-Level Distillation as a DSPy optimizer.

A teacher's reasoning becomes an explicit, ordered rule list in a small student's instructions,
selected by the student's validation Macro F1.

Public names are imported on first use (PEP 562), so ``import pld`` and the command line's
``--help`` do not pay for importing DSPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pld.errors import ArtifactError, BackendError, BudgetExceeded, ConfigError, DataError, PLDError
from pld.lazy import lazy_exports

if TYPE_CHECKING:
    from pld.artifacts.artifact import load
    from pld.artifacts.report import RunReport
    from pld.backends.lm import make_lm
    from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER, LMOptions, ModelSpec, RoleOptions
    from pld.config import PLDConfig
    from pld.evaluate import EvalReport, evaluate_program
    from pld.metrics import LabelScores, MacroF1, macro_f1
    from pld.optimizer import PLD

from pld.version import __version__

_LAZY: dict[str, str] = {
    "PLD": "pld.optimizer",
    "PLDConfig": "pld.config",
    "load": "pld.artifacts.artifact",
    "RunReport": "pld.artifacts.report",
    "make_lm": "pld.backends.lm",
    "LMOptions": "pld.backends.options",
    "ModelSpec": "pld.backends.options",
    "RoleOptions": "pld.backends.options",
    "DEFAULT_STUDENT": "pld.backends.options",
    "DEFAULT_TEACHER": "pld.backends.options",
    "EvalReport": "pld.evaluate",
    "evaluate_program": "pld.evaluate",
    "LabelScores": "pld.metrics",
    "MacroF1": "pld.metrics",
    "macro_f1": "pld.metrics",
}

__all__ = [
    "PLD",
    "ArtifactError",
    "BackendError",
    "BudgetExceeded",
    "ConfigError",
    "DataError",
    "DEFAULT_STUDENT",
    "DEFAULT_TEACHER",
    "EvalReport",
    "LabelScores",
    "LMOptions",
    "MacroF1",
    "ModelSpec",
    "PLDConfig",
    "PLDError",
    "RoleOptions",
    "RunReport",
    "evaluate_program",
    "load",
    "macro_f1",
    "make_lm",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
