"""One exception hierarchy: every error a user can cause says what was wrong and how to fix it."""

from __future__ import annotations


class PLDError(Exception):
    """Base class for errors PLD reports to users (the CLI prints the message, no traceback)."""


class ConfigError(PLDError, ValueError):
    """A model spec, option or argument is invalid."""


class BackendError(PLDError, RuntimeError):
    """A language-model backend is unreachable, missing a model, or missing a credential."""


class DataError(PLDError, ValueError):
    """A data file is missing or malformed, or a task name is unknown."""


class BudgetExceeded(PLDError, RuntimeError):
    """A call budget ran out; the optimizer catches it and returns the best program so far."""


class ArtifactError(PLDError, ValueError):
    """An artifact is missing, tampered with, truncated, of a newer schema, or for another task."""


class StudentError(PLDError, RuntimeError):
    """The student failed in a way that is not a wrong answer (an engine error, a bug, no valid
    answer at all): scoring it as wrong would turn a failure into a score, so the run stops."""
