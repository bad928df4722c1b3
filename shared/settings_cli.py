"""Command-line flags made from a pydantic-settings class: one description serves the flag, the env var and the docs.

A flag left out keeps the environment's value (`VOXFRAME_<FIELD>`) or the default; the values given are validated
together with the environment, and a bad one is a one-line `ConfigError` (exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings

from shared.errors import ConfigError, each_error

S = TypeVar("S", bound=BaseSettings)


def add_setting_flag(
    group: argparse._ActionsContainer, settings: type[BaseSettings], flag: str, field: str, **kwargs: Any
) -> None:
    """One flag for one field: booleans get `--x/--no-x`, Literals their choices, numbers their type."""
    info = settings.model_fields[field]
    default = info.default
    shown = "" if default is None or isinstance(default, SecretStr) else f", default {default!r}"
    kwargs.setdefault("help", f"{info.description} (env VOXFRAME_{field.upper()}{shown})")
    kind = _without_none(info.annotation)
    if kind is bool:
        kwargs.setdefault("action", argparse.BooleanOptionalAction)
    elif get_origin(kind) is Literal:
        kwargs.setdefault("choices", get_args(kind))
    else:
        kwargs.setdefault("type", kind if kind in (int, float) else str)
        kwargs.setdefault("metavar", flag.lstrip("-").upper().replace("-", "_"))
    group.add_argument(flag, dest=field, default=argparse.SUPPRESS, **kwargs)


def add_setting_flags(
    group: argparse._ActionsContainer, settings: type[BaseSettings], flags: Mapping[str, str]
) -> None:
    """`flags` maps each flag to its field."""
    for flag, field in flags.items():
        add_setting_flag(group, settings, flag, field)


def kebab_flags(
    settings: type[BaseSettings], strip: str = "", only: Iterable[str] | None = None
) -> dict[str, str]:
    """`--field-name` for each field (or those in `only`), with a common prefix stripped."""
    names = list(only) if only is not None else list(settings.model_fields)
    return {"--" + name.removeprefix(strip).replace("_", "-"): name for name in names}


def settings_from_args(settings: type[S], args: argparse.Namespace) -> S:
    """The settings with the flags given on top of the environment; a bad value raises ConfigError."""
    return load_settings(settings, **{name: value for name, value in vars(args).items()
                                      if name in settings.model_fields})


def load_settings(settings: type[S], **given: Any) -> S:
    """The settings from the environment (`given` on top); a bad value raises ConfigError, so the worker exits 2
    with one line naming it, never a traceback."""
    try:
        return settings(**given)
    except ValidationError as exc:
        raise ConfigError(f"invalid setting: {_describe(settings, exc)}") from exc


def _describe(settings: type[BaseSettings], exc: ValidationError) -> str:
    """Each bad field as the user set it: its variable's name and the value (a secret's is never repeated), since
    the field's name alone ("prefetch") is not what anyone typed."""
    prefix = str(settings.model_config.get("env_prefix", ""))

    def as_set(error: ErrorDetails) -> str:
        field, *rest = [str(p) for p in error["loc"]] or ["(settings)"]
        info = settings.model_fields.get(field)
        named = f"{prefix}{field.upper()}" if info is not None else field
        shown = info is not None and _without_none(info.annotation) is not SecretStr and error["type"] != "missing"
        value = f"={_shown(error['input'])}" if shown else ""
        return f"{'.'.join([named, *rest])}{value}: {error['msg']}"

    return each_error(exc, as_set)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation
