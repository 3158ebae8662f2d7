"""Where the engine reports things people should hear about (task assigned, reminder, SLA
breach, incident …). The deployment plugs in real channels; the default writes to the log."""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger("planflow.notify")


class Notifier(Protocol):
    def notify(self, event: str, payload: dict[str, Any]) -> None: ...

    def shutdown(self) -> None:
        """Stop whatever the notifier runs in the background (its delivery thread)."""
        ...


class LogNotifier:
    def notify(self, event: str, payload: dict[str, Any]) -> None:
        log.info("%s %s", event, payload)

    def shutdown(self) -> None:
        pass
