"""Rule lists into instructions (a jinja2 template), and instructions into programs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import jinja2

if TYPE_CHECKING:  # annotations only: verifying an artifact's rules needs no DSPy (pld show)
    import dspy


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pld", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render_instructions(base_instructions: str, rules: Sequence[str], labels: Sequence[str] = ()) -> str:
    """The instructions a student sees: its own task description, the numbered rules, and (with
    the label set) what to do when no rule applies. Naming every label there matters to small
    students: a lone rule that names one label otherwise draws that answer for every input. A rule
    of several lines (a mined decision list, ``pld.pipeline.mining``) is numbered line by line."""
    lines = [line.strip() for rule in rules for line in rule.splitlines() if line.strip()]
    template = _environment().get_template("instructions.j2")
    return template.render(base_instructions=base_instructions, rules=lines, labels=list(labels)).strip()


def signature_labels(signature: type[dspy.Signature]) -> tuple[str, ...]:
    """The label set of a signature's one ``Literal`` output field; () when there is not exactly one."""
    import typing

    found = [typing.get_args(field.annotation) for field in signature.output_fields.values()
             if typing.get_origin(field.annotation) is typing.Literal]
    return tuple(str(value) for value in found[0]) if len(found) == 1 else ()


def base_instructions(program: dspy.Module) -> dict[str, str]:
    """Each predictor's own instructions, by predictor name."""
    return {name: predictor.signature.instructions for name, predictor in program.named_predictors()}


def with_rules(program: dspy.Module, bases: dict[str, str], rules: Sequence[str]) -> dspy.Module:
    """A deep copy of ``program`` whose predictors carry ``rules`` after their own instructions.

    Signatures are replaced, never mutated: signature classes are shared between copies.
    """
    compiled = program.deepcopy()
    for name, predictor in compiled.named_predictors():
        labels = signature_labels(predictor.signature)
        predictor.signature = predictor.signature.with_instructions(render_instructions(bases[name], rules, labels))
    return compiled
