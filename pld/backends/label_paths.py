"""Which path decoded a served student's labels, and why scoring fell back.

A served engine (Ollama, a completions server, a pool of them) counts, for its lifetime, how each
label was decoded (``label_paths``: scored by log-probabilities, constrained by a logit bias, a
grammar or a schema, or read from free text) and why a faster path was not taken
(``fallback_reasons``). A scored label and a constrained one can differ, so evaluation and
compile reports say how many of each a run used: the counts are taken before and after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dspy

LabelPaths = dict[str, dict[str, int]]  # {"paths": {path: n}, "fallbacks": {reason: n}}

_COUNTERS = {"paths": "label_paths", "fallbacks": "fallback_reasons"}


def label_path_counts(lm: dspy.BaseLM) -> LabelPaths | None:
    """A served engine's counters now; None for an LM whose engine keeps none (embedded models,
    chat routes) or that PLD did not build (its counters mean what its author says)."""
    from pld.backends.base import backend_info  # DSPy: not for `pld show`, which imports this module

    engine = getattr(lm, "engine", None)
    if backend_info(lm).kind == "other" or not hasattr(engine, "label_paths"):
        return None
    return {key: dict(getattr(engine, name)) for key, name in _COUNTERS.items() if hasattr(engine, name)}


def counted_since(before: LabelPaths | None, after: LabelPaths | None) -> LabelPaths | None:
    """What the counters added during a run: cached answers and earlier runs never reach it."""
    if before is None or after is None:
        return None
    return {key: {name: n - before.get(key, {}).get(name, 0) for name, n in counts.items()
                  if n > before.get(key, {}).get(name, 0)} for key, counts in after.items()}


def describe_label_paths(counts: LabelPaths) -> str:
    """'logit-bias 40, text 2; fell back: the server has no tokenize endpoint 2'."""
    paths = ", ".join(f"{name} {n}" for name, n in sorted(counts.get("paths", {}).items())) or "none (all cached)"
    fallbacks = counts.get("fallbacks") or {}
    why = "; fell back: " + ", ".join(f"{reason} {n}" for reason, n in sorted(fallbacks.items())) if fallbacks else ""
    return paths + why


def fallback_warning(counts: LabelPaths | None) -> list[str]:
    """A compile report's warning when the student's labels were not all decoded the fast way."""
    fallbacks = (counts or {}).get("fallbacks") or {}
    if not fallbacks:
        return []
    return [f"the student's label decoding fell back {sum(fallbacks.values())} time(s) "
            f"({describe_label_paths(counts or {})}); rules were selected under those answers, see the README's "
            "'Serving the student' for the server settings that avoid it"]
