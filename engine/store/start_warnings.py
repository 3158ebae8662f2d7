"""Warnings a model leaves for whoever starts it: texts its first run puts in the instance's
`start_warnings` variable (the launch warns that an event less than 30 days away compresses its
communication rhythm, and says which steps). Starting is never refused for them: the first save
records each as a system note of the starter (`handler_note`, kind `start_warning`), which the
instance page shows and `POST /process-instances` answers as `warnings`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VARIABLE = "start_warnings"
MAX_WARNINGS, MAX_TEXT = 20, 2000


def start_warnings(data: Mapping[str, Any] | None) -> list[str]:
    """The texts in `start_warnings` (a list of strings; anything else there is ignored)."""
    value = (data or {}).get(VARIABLE)
    if not isinstance(value, list):
        return []
    texts = [v.strip()[:MAX_TEXT] for v in value if isinstance(v, str) and v.strip()]
    return texts[:MAX_WARNINGS]


def warning_notes(data: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The audit notes of the warnings (`save`'s `notes`)."""
    return [
        {"action": "handler_note", "details": {"note": text, "kind": "start_warning"}}
        for text in start_warnings(data)
    ]
