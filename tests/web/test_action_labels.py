"""Every audit action has a label in both languages: the instance timeline, the dashboard and
the handling history never show a raw key such as `task_transferred`."""

from __future__ import annotations

import re

import pytest

from engine.store.audit_log import ACTIONS, audit
from web.i18n import catalog

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_audit_action_has_a_chinese_and_an_english_label() -> None:
    labels = catalog()
    missing = sorted(a for a in ACTIONS if f"manage.action.{a}" not in labels)
    assert not missing, f"audit actions without a label: {missing}"
    for action in ACTIONS:
        entry = labels[f"manage.action.{action}"]
        assert CJK.search(entry["zh"]), (action, entry)
        assert entry["en"] and not CJK.search(entry["en"]), (action, entry)


def test_no_label_for_an_action_the_engine_does_not_record() -> None:
    stale = sorted(
        k.removeprefix("manage.action.")
        for k in catalog()
        if k.startswith("manage.action.") and k.removeprefix("manage.action.") not in ACTIONS
    )
    assert not stale, f"labels for actions nothing records: {stale}"


def test_an_unnamed_action_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit(None, None, "task_teleported")  # type: ignore[arg-type]
