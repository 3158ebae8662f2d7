"""How values print in the department's documents: the Jinja sandbox the document templates
run in (autoescape off, the output is Markdown) and its filters.

A missing value renders as "—", never as an error; table cells go through the `cell` filter so
that a `|` or a line break typed in a form cannot break the table. Dates print as everywhere
else (`engine.wall_clock`), in the zone the caller passes (the deployment's, `Settings.zone`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, FileSystemLoader, Undefined
from jinja2.sandbox import SandboxedEnvironment

from engine.figures import shown_number
from engine.time_range import in_range
from engine.wall_clock import DEFAULT_ZONE, shown
from handlers.common import DASH, label, to_number

__all__ = ["DashUndefined", "parse_when", "template_environment"]


class DashUndefined(ChainableUndefined):
    """Missing values (and attributes of missing values) print as "—" and iterate as empty."""

    def __str__(self) -> str:
        return DASH


_ENVIRONMENTS: dict[tuple[tuple[Path, ...], str], SandboxedEnvironment] = {}


def template_environment(
    dirs: tuple[Path, ...], zone: tzinfo = DEFAULT_ZONE
) -> SandboxedEnvironment:
    """The sandbox for templates in ``dirs``, its date filters in ``zone`` (one per pair)."""
    env = _ENVIRONMENTS.get((dirs, str(zone)))
    if env is None:
        env = SandboxedEnvironment(
            loader=FileSystemLoader([str(d) for d in dirs]),
            autoescape=False,
            undefined=DashUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters.update(
            cell=_cell,
            inline=_inline,
            block=_block,
            label=_label,
            labels=_labels,
            money=_money,
            num=_num,
            pct=_pct,
            date=partial(_date, zone=zone),
            datetime=partial(_datetime, zone=zone),
            or_dash=_or_dash,
        )
        _ENVIRONMENTS[(dirs, str(zone))] = env
    return env


def _finalize(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DASH
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _num(value)
    return value


def _missing(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, Undefined)
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, list | tuple | dict) and not value)
    )


def _or_dash(value: Any) -> Any:
    return DASH if _missing(value) else value


def _inline(value: Any) -> str:
    """One line of text (for list items and key/value lines)."""
    if _missing(value):
        return DASH
    return re.sub(r"\s*\n\s*", "；", str(value).strip())


def _block(value: Any) -> str:
    """Free text as its own paragraph(s); blank lines inside are kept, "—" when empty."""
    if _missing(value):
        return DASH
    return str(value).strip()


def _cell(value: Any) -> str:
    """A table cell: no line breaks, `|` escaped."""
    if _missing(value):
        return DASH
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        value = _num(value)
    return re.sub(r"\s*\n\s*", " ", str(value).strip()).replace("|", "\\|")


def _label(value: Any, kind: str) -> str:
    return DASH if _missing(value) else label(kind, value)


def _labels(values: Any, kind: str) -> str:
    if _missing(values):
        return DASH
    items = values if isinstance(values, list | tuple) else [values]
    return "、".join(label(kind, v) for v in items if not _missing(v)) or DASH


def _num(value: Any, digits: int = 2) -> str:
    number = to_number(value) if not isinstance(value, Undefined) else None
    if number is None:
        return DASH if _missing(value) else str(value)
    return shown_number(number, digits)


def _money(value: Any) -> str:
    shown = _num(value)
    return shown if shown == DASH or to_number(value) is None else f"¥{shown}"


def _pct(value: Any) -> str:
    shown = _num(value)
    return shown if shown == DASH or to_number(value) is None else f"{shown}%"


def parse_when(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip().replace("Z", "+00:00")
    try:
        when = date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
    except ValueError:
        return None
    # Outside the years planflow takes a time may not even exist in Beijing time.
    return when if in_range(when) else None


def _date(value: Any, zone: tzinfo) -> str:
    when = parse_when(value)
    if when is None:
        return DASH if _missing(value) else str(value)
    return shown(when, zone, "date")


def _datetime(value: Any, zone: tzinfo) -> str:
    when = parse_when(value)
    if when is None:
        return DASH if _missing(value) else str(value)
    return shown(when, zone)
