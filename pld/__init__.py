"""PLD: Prompt-Level Distillation as a DSPy optimizer.

A teacher's reasoning becomes an explicit, ordered rule list in a small student's instructions,
selected by the student's validation Macro F1.
"""

from pld.artifact import load
from pld.errors import ArtifactError, BackendError, BudgetExceeded, ConfigError, DataError, PLDError
from pld.evaluate import EvalReport, evaluate_program
from pld.lm import DEFAULT_STUDENT, DEFAULT_TEACHER, LMOptions, make_lm
from pld.metrics import LabelScores, MacroF1, macro_f1
from pld.optimizer import PLD
from pld.report import RunReport

__version__ = "0.1.0"

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
    "PLDError",
    "RunReport",
    "evaluate_program",
    "load",
    "macro_f1",
    "make_lm",
]
