"""Call budgets: the optimizer asks before each real LM call and stops cleanly when one runs out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pld.errors import BudgetExceeded


@dataclass
class CallBudget:
    """Counts calls charged to one role; ``limit=None`` means unlimited."""

    role: str
    limit: int | None = None
    used: int = 0
    held: int = 0  # calls kept back for a later stage (``holding``)

    def charge(self, calls: int = 1) -> None:
        if self.limit is not None and self.used + calls > self.limit - self.held:
            raise BudgetExceeded(f"the {self.role} call budget of {self.limit} calls is spent"
                                 + (f" ({self.held} kept for confirmation)" if self.held else ""))
        self.used += calls

    @contextmanager
    def holding(self, calls: int) -> Iterator[None]:
        """Keep ``calls`` of the budget back while the block runs (selection leaves confirmation
        the calls it needs); without a limit there is nothing to keep."""
        self.held = 0 if self.limit is None else min(calls, self.limit)
        try:
            yield
        finally:
            self.held = 0

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else self.limit - self.used
