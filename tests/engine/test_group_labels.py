"""A group's name is one rule (`engine.people.directory.group_labels`): its display name, else
its key; in English its English name, else the Chinese one. The task and inbox pages, the
person pickers' 部门, the reports and the dashboard's overdue groups all read it; the dashboard
showed a group without an English name by its key and one without any name as a blank."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.people import directory
from engine.people.accounts import add_group, add_user
from engine.read import names
from engine.read.dashboard import overdue
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, TaskCandidateRow
from tests.conftest import deploy_fixture, make_staff
from tests.web.staff_helpers import start


def test_every_group_has_a_name_in_both_languages(sqlite_ctx):
    with transaction(sqlite_ctx.sessions) as s:
        add_group(s, "events", "活动组", "Events")
        add_group(s, "press", "媒体组")
        add_group(s, "adhoc", "")
        labels = directory.group_labels(s)
        assert labels["events"] == {"zh": "活动组", "en": "Events"}
        assert labels["press"] == {"zh": "媒体组", "en": "媒体组"}
        assert labels["adhoc"] == {"zh": "adhoc", "en": "adhoc"}
        assert names.group_labels(s) == labels
        assert names.group_names(s, english=True)["press"] == "媒体组"
        add_user(s, "wang", "pw-123456789", now=sqlite_ctx.clock.now(),
                 groups=["press", "adhoc"], display_name="王五")
        [wang] = [p for p in directory.people(s) if p.username == "wang"]
        assert (wang.department, wang.department_en) == ("adhoc、媒体组", "adhoc, 媒体组")
        # a directory read with the labels the caller has gives the same people
        assert directory.people(s, labels) == directory.people(s)


def test_the_dashboard_names_overdue_groups_by_the_same_rule(sqlite_ctx):
    make_staff(sqlite_ctx)
    deploy_fixture(sqlite_ctx)
    start(sqlite_ctx)  # its first task is offered to the specialists
    now = sqlite_ctx.clock.now()
    with transaction(sqlite_ctx.sessions) as s:
        s.execute(update(HumanTaskRow).values(due_at=now - timedelta(days=1), assignee=None))
        add_group(s, "press", "媒体组")  # no English name: the dashboard showed its key
        [task] = s.scalars(select(HumanTaskRow.id))
        s.add(TaskCandidateRow(task_id=task, group_name="press"))
        s.flush()
        labels = directory.group_labels(s)
        _, groups = overdue(s, now)
    assert {row["group"] for row in groups} == {"planning_specialist", "press"}
    for row in groups:
        assert row["name"] == labels[row["group"]]["zh"]
        assert row["name_en"] == labels[row["group"]]["en"]
        assert row["name"] and row["name_en"]
