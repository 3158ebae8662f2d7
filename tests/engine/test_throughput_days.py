"""The dashboard's 完成量 per day counts by the department's local days, also across a daylight-
saving change (a deployment in Berlin: 29 March 2026 has 23 hours there). The database used to
shift every completion by today's offset (SQLite), which put an evening completion of the week
before the change on the next day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.read import dashboard
from engine.store.db import transaction
from engine.store.tables import InstanceRecord, ProcessVersionRecord
from tests.conftest import deploy_fixture

BERLIN = ZoneInfo("Europe/Berlin")


def test_completions_count_on_their_local_day_across_a_clock_change(ctx) -> None:
    deploy_fixture(ctx)
    completions = [
        datetime(2026, 3, 27, 22, 30, tzinfo=UTC),  # 23:30 on the 27th (CET, +1)
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # 00:30 on the 29th (CET)
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # 23:30 on the 29th (CEST, +2)
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # 00:30 on the 30th (CEST)
        datetime(2026, 2, 1, 12, 0, tzinfo=UTC),  # before the 30 days
        datetime(2026, 4, 2, 12, 0, tzinfo=UTC),  # after today
    ]
    with transaction(ctx.sessions) as s:
        version = s.scalar(select(ProcessVersionRecord))
        for at in completions:
            s.add(InstanceRecord(model_key=version.model_key, version_id=version.id,
                                 version_number=version.version, title="t", status="completed",
                                 started_by="alice", created_at=at, updated_at=at,
                                 completed_at=at, state="{}", data={}, suspended=False))
        s.add(InstanceRecord(model_key=version.model_key, version_id=version.id,
                             version_number=version.version, title="running", status="running",
                             started_by="alice", created_at=completions[0],
                             updated_at=completions[0], state="{}", data={}, suspended=False))
    with transaction(ctx.sessions) as s:
        days = dashboard.throughput(s, datetime(2026, 3, 31, 10, 0, tzinfo=UTC), BERLIN)
    assert len(days) == 30 and days[0][0] == date(2026, 3, 2) and days[-1][0] == date(2026, 3, 31)
    assert {d: n for d, n in days if n} == {
        date(2026, 3, 27): 1, date(2026, 3, 29): 2, date(2026, 3, 30): 1,
    }
