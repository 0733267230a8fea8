"""Call budgets: the optimizer asks before each real LM call and stops cleanly when one runs out."""

from __future__ import annotations

from dataclasses import dataclass

from pld.errors import BudgetExceeded


@dataclass
class CallBudget:
    """Counts calls charged to one role; ``limit=None`` means unlimited."""

    role: str
    limit: int | None = None
    used: int = 0

    def charge(self, calls: int = 1) -> None:
        if self.limit is not None and self.used + calls > self.limit:
            raise BudgetExceeded(f"the {self.role} call budget of {self.limit} calls is spent")
        self.used += calls

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else self.limit - self.used
