"""Command-line flags generated from ``PLDConfig``'s fields: name, type, default, choices, help.

A field ``max_rules`` becomes ``--max-rules`` (``--pld-max-rules`` with a prefix), checked by
``PLDConfig`` itself as argparse parses it, so a bad value stops at the command line with the
usage line and what the setting allows, before any model or data is loaded.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pld.config import PLDConfig
from pld.errors import ConfigError


@dataclass(frozen=True)
class ConfigFlags:
    """Which ``PLDConfig`` fields a command exposes, and under what prefix.

    ``exclude`` names fields the command sets itself (``pld compare``'s shared ``--budget``). A
    field whose flag the parser already has (``--seed`` of the model options) is not added
    again: that flag's value is the field's value.
    """

    prefix: str = ""
    exclude: Collection[str] = ()
    only: Collection[str] | None = None

    def names(self) -> list[str]:
        return [name for name in PLDConfig.model_fields
                if name not in self.exclude and (self.only is None or name in self.only)]

    def flag(self, name: str) -> str:
        return f"--{self.prefix}{name}".replace("_", "-")

    def dest(self, name: str) -> str:
        return f"{self.prefix}{name}".replace("-", "_")

    def add(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup, defaults: PLDConfig) -> None:
        """One flag per field, defaults from ``defaults``, help from the field's description."""
        for name in self.names():
            field = PLDConfig.model_fields[name]
            default = getattr(defaults, name)
            shown = "none" if default is None else str(default).lower() if isinstance(default, bool) else default
            base, optional = _base_type(field.annotation)
            note = f"(default: {shown}" + ("; 'none' for None)" if optional else ")")
            options: dict[str, Any] = {"dest": self.dest(name), "default": default,
                                       "help": f"{field.description} {note}".replace("%", "%%")}
            if base is bool:
                options["action"] = argparse.BooleanOptionalAction
            elif get_origin(base) is Literal:
                options["choices"] = list(get_args(base))
            else:
                options["type"] = _checked(name, base, optional)
                options["metavar"] = "N" if base is int else "X"
            try:
                parser.add_argument(self.flag(name), **options)
            except argparse.ArgumentError:  # the parser has this flag already (--seed): share its value
                continue

    def read(self, args: argparse.Namespace, defaults: PLDConfig) -> PLDConfig:
        """``defaults`` with the parsed values of the exposed fields."""
        values = {name: getattr(args, self.dest(name)) for name in self.names() if hasattr(args, self.dest(name))}
        return defaults.replace(**values)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> ``(int, True)``."""
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation):
        return next(arg for arg in get_args(annotation) if arg is not type(None)), True
    return annotation, False


def _checked(name: str, base: type, optional: bool) -> Callable[[str], Any]:
    """An argparse ``type`` that converts the text and lets ``PLDConfig`` check the value."""

    def convert(text: str) -> Any:
        allowed = PLDConfig.allowed(name) + (" ('none' for None)" if optional else "")
        try:
            value = None if optional and text.strip().lower() == "none" else base(text)
            return PLDConfig.check(name, value)
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None

    convert.__name__ = base.__name__
    return convert
