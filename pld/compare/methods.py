"""The built-in comparison methods, listed once, in row order; names resolve here.

There is no registration: ``BUILTIN_METHODS`` is the whole list, fixed at import. A method of
your own is a ``pld.compare.Method`` passed to ``compare(..., methods=[...])`` or
``run_comparison(..., methods=[...])``, beside built-in names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from pld.compare.baselines import COT, FEW_SHOT, ZERO_SHOT
from pld.compare.method import Method
from pld.compare.peers import BOOTSTRAP, COPRO, GEPA, INFERRULES, MIPROV2, MIPROV2_FULL, PLD_METHOD, SIMBA
from pld.errors import ConfigError

BUILTIN_METHODS: tuple[Method, ...] = (
    ZERO_SHOT, COT, FEW_SHOT, BOOTSTRAP, COPRO, MIPROV2, MIPROV2_FULL, GEPA, SIMBA, INFERRULES, PLD_METHOD,
)
METHODS: Mapping[str, Method] = MappingProxyType({method.name: method for method in BUILTIN_METHODS})


def method_names() -> list[str]:
    """The built-in methods' names, in row order."""
    return list(METHODS)


def get_method(name: str) -> Method:
    """The built-in method called ``name`` (case and surrounding spaces ignored)."""
    key = name.strip().lower()
    if key not in METHODS:
        raise ConfigError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}")
    return METHODS[key]


def resolve_methods(methods: Iterable[str | Method]) -> list[Method]:
    """``Method`` objects as given, names looked up among the built-ins."""
    return [method if isinstance(method, Method) else get_method(method) for method in methods]
