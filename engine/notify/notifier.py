"""Where the engine reports things people should hear about (task assigned, reminder, SLA
breach, incident …). The deployment plugs in real channels; the default writes to the log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("planflow.notify")


class Notifier(Protocol):
    def notify(self, session: Session, event: str, payload: dict[str, Any]) -> int:
        """Record `event` in `session`'s transaction (so a rollback takes it back); the
        number of people it reaches."""
        ...

    def shutdown(self) -> None:
        """Stop whatever the notifier runs in the background (its delivery thread)."""
        ...


class LogNotifier:
    def notify(self, session: Session, event: str, payload: dict[str, Any]) -> int:
        log.info("%s %s", event, payload)
        return 0

    def shutdown(self) -> None:
        pass
