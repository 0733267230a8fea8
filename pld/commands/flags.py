"""Command-line flags generated from a settings class's fields: name, type, default, choices, help.

A field ``max_rules`` becomes ``--max-rules`` (``--pld-max-rules`` with a prefix; another name, or
several, with ``rename``), checked by the settings class itself as argparse parses it, so a bad
value stops at the command line with the usage line and what the setting allows, before any model
or data is loaded. ``PLDConfig`` gives PLD's flags; ``CompileSettings``, ``CompareSettings`` and
``DistillSettings`` the jobs' own.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from pld.config import PLDConfig, Settings
from pld.errors import ConfigError


@dataclass(frozen=True)
class ConfigFlags:
    """Which fields of ``settings`` a command exposes, under what prefix and names.

    ``exclude`` names fields the command sets itself (``pld compare``'s shared ``--budget``). A
    field whose flag the parser already has (``--seed`` of the model options) is not added
    again: that flag's value is the field's value. ``rename`` gives a field other flag names
    (``{"n_train": "train"}``, or several: ``{"n_examples": ("train", "limit")}``). A tuple field
    takes a comma-separated list. Fields that hold settings of their own (``CompileSettings.pld``)
    are never flags: they get a ``ConfigFlags`` of their own.
    """

    settings: type[Settings] = PLDConfig
    prefix: str = ""
    exclude: Collection[str] = ()
    only: Collection[str] | None = None
    rename: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    none_text: Mapping[str, str] = field(default_factory=dict)  # another spelling of None, e.g. {"n_examples": "0"}

    def names(self) -> list[str]:
        return [name for name, info in self.settings.model_fields.items()
                if name not in self.exclude and (self.only is None or name in self.only)
                and not _is_settings(info.annotation)]

    def flags(self, name: str) -> list[str]:
        names = self.rename.get(name, name)
        return [f"--{self.prefix}{flag}".replace("_", "-") for flag in ((names,) if isinstance(names, str) else names)]

    def flag(self, name: str) -> str:
        return self.flags(name)[0]

    def dest(self, name: str) -> str:
        return f"{self.prefix}{name}".replace("-", "_")

    def add(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup, defaults: Settings) -> None:
        """One flag per field, defaults from ``defaults``, help from the field's description."""
        for name in self.names():
            info = self.settings.model_fields[name]
            default = getattr(defaults, name)
            shown = ("none" if default is None else str(default).lower() if isinstance(default, bool)
                     else ",".join(default) if isinstance(default, tuple) else default)
            base, optional = _base_type(info.annotation)
            note = f"(default: {shown}" + ("; 'none' for None)" if optional else ")")
            options: dict[str, Any] = {"dest": self.dest(name), "default": default,
                                       "help": f"{info.description or ''} {note}".strip().replace("%", "%%")}
            if base is bool:
                options["action"] = argparse.BooleanOptionalAction
            elif get_origin(base) is Literal:
                options["choices"] = list(get_args(base))
            else:
                options["type"] = _checked(self.settings, name, base, optional, self.none_text.get(name))
                options["metavar"] = ("SPEC" if name in ("teacher", "student")
                                      else {int: "N", float: "X", str: "TEXT"}.get(base, "A,B"))
                if get_origin(base) is tuple and default == ():  # a list that repeats add up: --fail-method a --fail-method b
                    options.update(action="extend", default=None)
            try:
                parser.add_argument(*self.flags(name), **options)
            except argparse.ArgumentError:  # the parser has this flag already (--seed): share its value
                continue

    def read(self, args: argparse.Namespace, defaults: Settings) -> Any:
        """``defaults`` with the parsed values of the exposed fields."""
        values = {name: getattr(args, self.dest(name)) for name in self.names() if hasattr(args, self.dest(name))}
        values = {name: (getattr(defaults, name) if value is None and getattr(defaults, name) == () else
                         tuple(value) if isinstance(value, list) else value) for name, value in values.items()}
        return defaults.replace(**values)


def _is_settings(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Settings)


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> ``(int, True)``."""
    if get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation):
        return next(arg for arg in get_args(annotation) if arg is not type(None)), True
    return annotation, False


def _checked(settings: type[Settings], name: str, base: Any, optional: bool,
             none_text: str | None = None) -> Callable[[str], Any]:
    """An argparse ``type`` that converts the text and lets the settings class check the value."""
    listed = get_origin(base) is tuple
    nones = {"none", none_text} if none_text else {"none"}

    def convert(text: str) -> Any:
        allowed = settings.allowed(name) + (f" ({' or '.join(repr(t) for t in sorted(nones))} for None)" if optional else "")
        try:
            if optional and text.strip().lower() in nones:
                value: Any = None
            elif listed:
                value = tuple(part.strip() for part in text.split(",") if part.strip())
            else:
                value = base(text)
            checked = settings.check(name, value)
            return list(checked) if listed else checked
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None

    convert.__name__ = "list" if listed else getattr(base, "__name__", "value")
    return convert
