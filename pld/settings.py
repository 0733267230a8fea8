"""The validating base of every settings class (``PLDConfig``, the jobs' settings, ``LMOptions``):
frozen, unknown names refused, every bad value refused with one line (``ConfigError``) that names
the setting, the value, what is allowed, a likely fix and, where one sets it, the command-line flag.
Plain data, importable without DSPy."""

from __future__ import annotations

import difflib
import types
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from pld.errors import ConfigError


class Settings(BaseModel):
    """Frozen settings that refuse unknown names and bad values with one line (``ConfigError``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = "setting"  # how error messages name a field: "PLD setting max_rules=..."

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_one_line(type(self), exc)) from None

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """``max_rules=True`` is a mistake, not 1 (pydantic's lax mode would take it)."""
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and annotation is not bool and bool not in get_args(annotation):
            raise ValueError("a bool is not a number")
        return value

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, validated (``model_copy(update=...)`` would not validate)."""
        return type(self)(**{**dict(self), **changes})

    @classmethod
    def check(cls, name: str, value: Any) -> Any:
        """``value`` as the field ``name`` holds it, or ``ConfigError`` (the CLI checks each flag with it)."""
        return getattr(cls(**{name: value}), name)

    @classmethod
    def allowed(cls, name: str) -> str:
        """What field ``name`` accepts, in words: "a whole number >= 1 or None"."""
        return _allowed(cls.model_fields[name])


def _allowed(field: FieldInfo) -> str:
    annotation = field.annotation
    optional = get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)
    if optional:
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Literal:
        text = "one of " + ", ".join(repr(value) for value in get_args(annotation))
    elif annotation is bool:
        text = "True or False"
    elif annotation in (int, float):
        text = "a whole number" if annotation is int else "a finite number"
        bounds = [f"{sign} {getattr(rule, attr)}" for rule in field.metadata
                  for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
                  if getattr(rule, attr, None) is not None]
        text += (" " + " and ".join(bounds)) if bounds else ""
    elif isinstance(annotation, type) and issubclass(annotation, Settings):
        text = f"a {annotation.__name__}"
    else:
        text = getattr(annotation, "__name__", str(annotation))
    return text + (" or None" if optional else "")


def _one_line(model: type[Settings], exc: ValidationError) -> str:
    """Every problem of ``exc`` in one line: setting, value, what is allowed, a likely fix."""
    return "; ".join(_problem(model, error) for error in exc.errors())


def _problem(model: type[Settings], error: Any) -> str:
    inner = (error.get("ctx") or {}).get("error")
    if isinstance(inner, ConfigError):  # a nested Settings refused its own value (custom __init__)
        return str(inner)
    name = str(error["loc"][0]) if error["loc"] else "?"
    fields = list(model.model_fields)
    if error["type"] == "extra_forbidden" or name not in fields:
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(fields)}"
        return f"unknown {model.kind} {name!r} ({hint})"
    value = error.get("input")
    field = model.model_fields[name]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    flag = f" (--{extra.get('flag') or name.replace('_', '-')})" if extra.get("cli") else ""
    text = f"invalid {model.kind} {name}={value!r}{flag}: must be {_allowed(field)}"
    choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    return text + (f" (did you mean {close[0]!r}?)" if close else "")

