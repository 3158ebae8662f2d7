"""How a time is shown and how a typed time is read live in `engine.wall_clock`, and every
channel follows them in the deployment's zone: a deployment configured for Tokyo shows the
same instant as Tokyo time on the staff's inbox, the managers' instance page, a notification
and a generated document (documents used to read `PLANFLOW_TIMEZONE` from the process
environment, whatever the settings said)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.context import build_context
from engine.forms import load_form
from engine.notify.render import local_time
from engine.read.form_view import display_value, form_values
from engine.store.db import transaction
from engine.store.migrate import upgrade
from engine.usecases import instances
from engine.wall_clock import DEFAULT_ZONE, as_aware, local, shown
from handlers.documents import render_document
from handlers.registry import HandlerRegistry
from tests.conftest import START, deploy_fixture, make_settings, make_staff
from tests.pages import login

ROOT = Path(__file__).resolve().parents[2]
TOKYO = ZoneInfo("Asia/Tokyo")
INSTANT = datetime(2026, 3, 2, 1, 5, 9, tzinfo=UTC)  # 09:05 in Shanghai, 10:05 in Tokyo


def test_an_instant_is_shown_as_wall_clock_time_in_the_zone():
    assert shown(INSTANT, DEFAULT_ZONE) == "2026-03-02 09:05"
    assert shown(INSTANT, TOKYO) == "2026-03-02 10:05"
    assert shown(INSTANT, DEFAULT_ZONE, "second") == "2026-03-02 09:05:09"
    assert shown(INSTANT, DEFAULT_ZONE, "date") == "2026-03-02"
    assert shown(INSTANT, DEFAULT_ZONE, "short") == "03-02 09:05"
    assert shown(INSTANT.isoformat(), TOKYO) == "2026-03-02 10:05"  # as stored in JSON
    assert shown(date(2026, 3, 2), TOKYO) == "2026-03-02"
    assert shown(date(2026, 3, 2), TOKYO, "day") == "03-02"
    assert shown(None, TOKYO) == "" and shown("", TOKYO, empty="-") == "-"
    assert shown("下周一", TOKYO) == "下周一"  # not a time: shown as it is
    # at the calendar's ends the zone's offset runs off it: the text as it is, not an error
    assert shown("9999-12-31T23:00:00Z", DEFAULT_ZONE) == "9999-12-31T23:00:00Z"
    assert shown("0001-01-01T00:00:00+14:00", TOKYO) == "0001-01-01T00:00:00+14:00"


def test_a_typed_time_without_offset_is_wall_clock_time_in_the_zone():
    typed = datetime(2026, 3, 2, 9, 5)
    assert as_aware(typed, DEFAULT_ZONE) == datetime(2026, 3, 2, 1, 5, tzinfo=UTC)
    assert as_aware(INSTANT, TOKYO) is INSTANT  # an offset given is kept
    # never the server's own zone: a naive time is not converted, it is placed
    assert local(typed, TOKYO).hour == 9 and local(INSTANT, TOKYO).hour == 10


def test_a_date_and_time_field_reads_as_a_time_not_as_iso_text():
    """form-js keeps a date-and-time field as ISO text ("2027-01-01T14:00"); the task page's
    key data, the history and the instance's data show it as planflow shows any time."""
    field = {"type": "datetime", "subtype": "datetime", "key": "event_date"}
    assert display_value(field, "2027-01-01T14:00", None, DEFAULT_ZONE) == "2027-01-01 14:00"
    # typed without an offset: wall-clock time, the same in any zone
    assert display_value(field, "2027-01-01T14:00", None, TOKYO) == "2027-01-01 14:00"
    # stored with an offset (form-js's utc_offset / utc_normalized formats): shown in the zone
    assert display_value(field, "2027-01-01T06:00:00Z", None, DEFAULT_ZONE) == "2027-01-01 14:00"
    assert display_value(field, "2027-01-01T06:00:00Z", None, TOKYO) == "2027-01-01 15:00"
    assert display_value(field, "下周一", None, TOKYO) == "下周一"  # not a time: as it is
    date_only = {"type": "datetime", "subtype": "date", "key": "d"}
    assert display_value(date_only, "2027-01-01", None, TOKYO) == "2027-01-01"
    text = {"type": "textfield", "key": "note"}
    assert display_value(text, "2027-01-01T14:00", None, TOKYO) == "2027-01-01T14:00"
    form = load_form(json.dumps({"type": "default", "id": "f", "components": [
        {**field, "dateLabel": "活动日期", "id": "Field_event_date"}]}))
    assert form_values(form, {"event_date": "2027-01-01T14:00"}, None, TOKYO) == [
        {"key": "event_date", "label": "活动日期", "value": "2027-01-01 14:00"}]


def test_an_unknown_zone_fails_at_start_up(tmp_path):
    with pytest.raises(ValueError, match="Asia/Shangai"):
        make_settings("sqlite://", tmp_path, timezone="Asia/Shangai")


def test_the_rule_has_one_home():
    """No other module formats a time or names a zone (the sandbox's SHANGHAI is a name
    diagram scripts use); templates name a form, never a strftime pattern."""
    allowed = {"engine/wall_clock.py", "engine/settings.py", "engine/sandbox/diagram_helpers.py"}
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("engine", "web", "handlers")
        for path in (ROOT / folder).rglob("*.py")
        if str(path.relative_to(ROOT)) not in allowed
        and re.search(r"\.strftime\(|ZoneInfo\(|os\.environ\.get\(\"PLANFLOW_TIMEZONE",
                      path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    templates = [
        str(path.relative_to(ROOT)) for path in (ROOT / "web" / "templates").rglob("*.html")
        if re.search(r"%[YmdHMS]", path.read_text(encoding="utf-8"))
    ]
    assert templates == []


@pytest.fixture
def tokyo(tmp_path: Path) -> Any:
    registry = HandlerRegistry()

    # approval_demo's one service step renders a document with what the engine hands it
    @registry.handler("record_note")
    def _note(params: dict[str, Any], hctx: Any) -> dict[str, Any]:
        _, text = render_document("event_summary", {}, now=hctx.clock.now(), zone=hctx.zone)
        return {"generated": re.search(r"生成时间 \| ([^|]+) \|", text).group(1).strip()}

    from engine.clock import FixedClock

    url = f"sqlite:///{tmp_path / 'tokyo.sqlite3'}"
    context = build_context(make_settings(url, tmp_path, timezone="Asia/Tokyo"),
                            clock=FixedClock(START), handlers=registry)
    upgrade(context.db)
    yield context
    context.close(workers=False)


def test_a_deployment_in_another_zone_shows_every_time_there(tokyo):
    from web import create_app

    staff = make_staff(tokyo)
    deploy_fixture(tokyo)
    with transaction(tokyo.sessions) as s:
        record = instances.start(tokyo, s, staff["alice"], "approval_demo",
                                 {"title": "东京", "amount": 5000})
        instance_id = record.id
    here = "2026-03-02 10:00"  # START is 01:00 UTC
    assert shown(START, tokyo.settings.zone) == here

    client = create_app({"TESTING": True}, context=tokyo).test_client()
    login(client, "alice")
    inbox = client.get("/tasks").get_data(as_text=True)
    assert f"到达 {here}" in inbox, inbox[:2000]
    login(client, "root")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert here in page and "2026-03-02 09:00" not in page

    assert local_time(tokyo, START.isoformat()) == here  # notifications (e.g. reminders)

    # through the engine: the service step's handler is told the zone
    with transaction(tokyo.sessions) as s:
        [task] = [t for t in instances_open(tokyo, s, instance_id)]
        instances.complete(tokyo, s, staff["alice"], task, {"description": "x"})
    with transaction(tokyo.sessions) as s:
        [task] = [t for t in instances_open(tokyo, s, instance_id)]
        instances.complete(tokyo, s, staff["mgr"], task, {"decision": "approve"})
    with transaction(tokyo.sessions) as s:
        from engine.store.tables import InstanceRecord

        assert s.get(InstanceRecord, instance_id).data["note_result"] == {"generated": here}


def instances_open(ctx: Any, session: Any, instance_id: int) -> list[str]:
    from sqlalchemy import select

    from engine.store.tables import HumanTaskRow

    return list(session.scalars(select(HumanTaskRow.id).where(
        HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open")))
