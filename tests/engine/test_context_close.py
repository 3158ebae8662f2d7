"""`EngineContext.close`: what a context runs in the background stops with it (the test
fixtures close every context this way, so no delivery thread outlives its test)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from engine.context import build_context
from engine.notify.notifications import PlanflowNotifier
from tests.conftest import make_settings


def _outbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "planflow-outbox" and t.is_alive()]


def test_closing_a_context_stops_its_outbox_thread(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'c.sqlite3'}", tmp_path)
    settings = replace(settings, extra={
        **settings.extra,
        "notify_dispatcher": "thread",
        "dingtalk_webhook": "http://127.0.0.1:9/robot",  # something external to deliver to
    })
    ctx = build_context(settings)
    before = len(_outbox_threads())
    assert isinstance(ctx.notifier, PlanflowNotifier)
    ctx.notifier.wake()
    assert ctx.notifier.dispatching and len(_outbox_threads()) == before + 1
    ctx.close(workers=False)
    assert not ctx.notifier.dispatching and len(_outbox_threads()) == before
