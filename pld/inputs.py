"""Validation of what users hand to ``compile``: clear errors that say how to fix the input."""

from __future__ import annotations

import random
import typing
from collections.abc import Sequence

import dspy

from pld.errors import ConfigError


def check_examples(examples: Sequence[dspy.Example] | None, name: str, label_field: str, *, labelled: bool,
                   labels: Sequence[str] | None = None) -> list[dspy.Example]:
    """The examples as a list, refusing ones a run would trip over later: no input fields, an
    input that is None, and (when ``labelled``) a missing or None label, or one outside ``labels``."""
    if examples is None or len(examples) == 0:
        raise ConfigError(f"{name} is empty: pass a non-empty list of dspy.Example.")
    checked = list(examples)
    for index, example in enumerate(checked):
        if not isinstance(example, dspy.Example):
            raise ConfigError(f"{name}[{index}] is a {type(example).__name__}, not a dspy.Example.")
        try:
            inputs = example.inputs()
        except ValueError as exc:
            raise ConfigError(
                f"{name}[{index}] has no input fields: build it with dspy.Example(...).with_inputs('field', ...)."
            ) from exc
        for field, value in inputs.items():
            if value is None:
                raise ConfigError(
                    f"{name}[{index}].{field} is None: give every input field a value, or leave the example out."
                )
        if labelled:
            _check_label(example, f"{name}[{index}]", label_field, labels)
    return checked


def _check_label(example: dspy.Example, where: str, label_field: str, labels: Sequence[str] | None) -> None:
    if label_field not in example.keys():
        raise ConfigError(
            f"{where} has no {label_field!r} label; label it, pass metric=macro_f1(label_field=...), "
            "or use trace_mode='label-free' for unlabeled training data."
        )
    label = example[label_field]
    if label is None:
        raise ConfigError(f"{where}.{label_field} is None: give it one of the labels, or leave the example out.")
    if labels is not None and str(label) not in labels:
        raise ConfigError(
            f"{where}.{label_field} is {label!r}, not one of the labels {', '.join(map(repr, labels))}: "
            "fix its spelling, or pass metric=macro_f1(labels=[...]) with the full label set."
        )


def infer_labels(program: dspy.Module, label_field: str) -> tuple[str, ...]:
    """The label set from the first predictor whose output field ``label_field`` is a Literal."""
    for _, predictor in program.named_predictors():
        field = predictor.signature.output_fields.get(label_field)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return tuple(str(value) for value in typing.get_args(field.annotation))
    raise ConfigError(
        f"Cannot tell the label set: no predictor has a Literal[...] output field {label_field!r}. "
        "Type the label field as Literal[...] or pass metric=macro_f1(label_field=..., labels=[...])."
    )


def literal_output_field(program: dspy.Module) -> str:
    """The one output field typed ``Literal[...]`` among the program's predictors: the label field
    selection scores with Macro F1 when the user's metric does not name one."""
    names = {name for _, predictor in program.named_predictors()
             for name, field in predictor.signature.output_fields.items()
             if typing.get_origin(field.annotation) is typing.Literal}
    if len(names) != 1:
        found = f"found {', '.join(sorted(names))}" if names else "found none"
        raise ConfigError(f"PLD selects rules by Macro F1 over one label field typed Literal[...] ({found}); pass "
                          "metric=pld.macro_f1(label_field=..., labels=[...]) to name it.")
    return names.pop()


def split_valset(trainset: list[dspy.Example], rng: random.Random) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """Hold out half of ``trainset`` (seeded) when no validation set is given."""
    if len(trainset) < 4:
        raise ConfigError("trainset needs at least 4 examples when no valset is given (half is held out).")
    order = list(range(len(trainset)))
    rng.shuffle(order)
    half = len(order) // 2
    return [trainset[i] for i in sorted(order[half:])], [trainset[i] for i in sorted(order[:half])]
