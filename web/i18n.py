"""UI language: zh-CN first, English second.

Templates never hard-code text: they call `_("key")`, and the catalogs in
`web/translations/*.json` (one per area of the UI, merged at start) hold each key in both
languages. The language comes from the
`lang` cookie (set by the switcher), defaulting to zh-CN. Missing keys show the key itself so they
are easy to spot, and a test checks every key used in templates exists in both languages.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, g, request

CATALOG_DIR = Path(__file__).parent / "translations"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"


@cache
def catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        for key, entry in json.loads(path.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"translation key {key!r} defined twice ({path.name})")
            merged[key] = entry
    return merged


def current_language() -> str:
    lang = g.get("lang")
    if lang is None:
        lang = request.cookies.get("lang", DEFAULT)
        if lang not in LANGUAGES:
            lang = DEFAULT
        g.lang = lang
    return lang


# The engine's messages read "中文 (English)" (engine.errors).
_BILINGUAL = re.compile(r"^(?P<zh>.*?)\s*\((?P<en>[^()]*)\)\s*$", re.S)
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def in_language(message: str) -> str:
    """An engine message as a page shows it: the part in the page's language. Only a message
    written "中文 (English)" is split: Chinese before the parentheses and none inside them (an
    English text such as "Waiting (timer)" or "任务 (策划专员)" stays whole)."""
    match = _BILINGUAL.match(message)
    if (match is None or not _CHINESE.search(match.group("zh"))
            or _CHINESE.search(match.group("en"))):
        return message
    return match.group("en") if current_language() == "en" else match.group("zh")


def translate(key: str, **params: Any) -> str:
    entry = catalog().get(key)
    text = key if entry is None else entry.get(current_language()) or entry.get(DEFAULT, key)
    return text.format(**params) if params else text


def term(value: str, *prefixes: str, language: str | None = None) -> str:
    """``value`` (a status, an action, a mode…) as the catalogue names it under the first of
    ``prefixes`` that has it, in ``language`` (the reader's when None); the value itself when
    none does. The pages and the command line name every such value through here."""
    for prefix in prefixes:
        entry = catalog().get(prefix + value)
        if entry is not None:
            return entry.get(language or current_language()) or entry.get(DEFAULT, value)
    return value


def status_name(status: str | None, language: str | None = None) -> str:
    """An instance's or a task's status (`term`)."""
    return term(status, "status.", "staff.status.", language=language) if status else ""


def init_app(app: Flask) -> None:
    app.jinja_env.globals["_"] = translate
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["status_name"] = status_name
