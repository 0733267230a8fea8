"""Per-endpoint counts of a role on several servers (``pld.backends.pool``): records that
reports and ``pld show`` read without importing the Router."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    import dspy


class EndpointStats(BaseModel):
    """One endpoint's share of a run: calls it received, how many failed there, and how many were
    retries of a call that had failed on another endpoint (failover)."""

    endpoint: str
    calls: int = 0
    failures: int = 0
    retries: int = 0

    def describe(self) -> str:
        return f"{self.endpoint}: {self.calls} calls, {self.failures} failed, {self.retries} taken over"


def endpoint_stats(lm: dspy.BaseLM) -> list[EndpointStats] | None:
    """Calls, failures and retries per endpoint of a pool LM so far; None for any other LM."""
    engine = getattr(lm, "engine", None)
    stats = getattr(engine, "endpoint_stats", None)
    return stats() if callable(stats) else None


def stats_since(before: list[EndpointStats] | None, after: list[EndpointStats] | None) -> list[EndpointStats] | None:
    """What each endpoint's counters added between two readings (a run's own share)."""
    if before is None or after is None:
        return None
    old = {stat.endpoint: stat for stat in before}
    zero = EndpointStats(endpoint="")
    return [EndpointStats(endpoint=stat.endpoint, **{name: getattr(stat, name) - getattr(old.get(stat.endpoint, zero), name)
                                                      for name in ("calls", "failures", "retries")})
            for stat in after]


def endpoint_report(lms: Mapping[str, dspy.BaseLM]) -> dict[str, list[EndpointStats]] | None:
    """Per role, each endpoint's calls, failures and retries, for the roles that ran on a pool."""
    report = {role: stats for role, lm in lms.items() if (stats := endpoint_stats(lm)) is not None}
    return report or None
