"""Run-time errors in user-task property expressions (issue 12): an `assignee`, `dueDate` or
`candidateGroupsExpression` that raises or gives an unusable value no longer disappears. The
task still opens (unassigned / without a due date), and the instance gets a warning-level
incident (listed, already resolved: the instance does not go to `error`) plus an audit entry,
both naming the element."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.read import queries
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow
from engine.usecases import control, instances
from engine.usecases.deploy import Upload, deploy
from tests.conftest import MODELS

SOURCE = (MODELS / "approval_demo.bpmn").read_text()
SUBMIT_PROPS = '<spiffworkflow:property name="dueIn" value="P2D"/>'


def deploy_with(ctx: Any, props: dict[str, str]) -> None:
    """approval_demo whose `submit` task has these properties instead of `dueIn`."""
    extra = "".join(
        f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in props.items()
    )
    bpmn = SOURCE.replace(SUBMIT_PROPS, extra)
    uploads = [Upload("approval_demo.bpmn", bpmn.encode())] + [
        Upload(p.name, p.read_bytes()) for p in MODELS.glob("*.form")
    ]
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads, "owner")


def start(ctx: Any, actor: Any, **data: Any) -> Any:
    with transaction(ctx.sessions) as s:
        return instances.start(ctx, s, actor, "approval_demo",
                               {"title": "表达式", "amount": 5000, **data})


def submit_row(ctx: Any, instance_id: int) -> HumanTaskRow:
    with transaction(ctx.sessions) as s:
        [row] = s.scalars(select(HumanTaskRow).where(
            HumanTaskRow.instance_id == instance_id, HumanTaskRow.status == "open")).all()
        s.expunge(row)
        return row


def detail(ctx: Any, staff: dict[str, Any], instance_id: int) -> dict[str, Any]:
    with transaction(ctx.sessions) as s:
        return queries.get_instance(ctx, s, staff["root"], instance_id)


def assert_warning(info: dict[str, Any], prop: str, *words: str) -> None:
    [incident] = info["incidents"]
    assert incident["element_id"] == "submit" and incident["task_id"]
    assert prop in incident["message"] and "warning" in incident["message"]
    for word in words:
        assert word in incident["message"], incident["message"]
    # Warning level: written resolved, so the instance is not in error and nothing retries.
    assert incident["resolved_at"] == incident["created_at"]
    assert info["status"] == "running"
    [entry] = [a for a in info["audit"] if a["action"] == "expression_failed"]
    assert entry["element_id"] == "submit" and entry["task_id"] == incident["task_id"]
    assert entry["details"]["property"] == prop and entry["details"]["level"] == "warning"


@pytest.mark.parametrize(
    ("expression", "data", "words"),
    [
        ("no_such_variable", {}, ["NameError", "no_such_variable"]),
        ("owner_name", {"owner_name": "nobody_here"}, ["nobody_here", "no active user"]),
        ("amount", {}, ["int", "not a user name"]),
        ("title.upper(1, 2)", {}, ["TypeError"]),
    ],
)
def test_assignee_expression_errors_open_the_task_unassigned_with_an_incident(
    ctx, staff, expression, data, words
):
    deploy_with(ctx, {"assignee": expression, "formFile": "approval_submit.form"})
    inst = start(ctx, staff["alice"], **data)
    row = submit_row(ctx, inst.id)
    assert row.element_id == "submit" and row.assignee is None
    info = detail(ctx, staff, inst.id)
    [task] = info["tasks"]
    assert task["candidate_groups"] == ["planning_specialist"]  # its lane: offered to the team
    assert_warning(info, "assignee", *words)
    # The process is not blocked: the lane's people complete the task.
    with transaction(ctx.sessions) as s:
        done = instances.complete(ctx, s, staff["bob"], row.id, {"description": "照常办理"})
    assert done.status == "running"


def test_a_valid_assignee_expression_assigns_without_incident(ctx, staff):
    deploy_with(ctx, {"assignee": "owner_name", "formFile": "approval_submit.form"})
    inst = start(ctx, staff["alice"], owner_name="bob")
    assert submit_row(ctx, inst.id).assignee == "bob"
    info = detail(ctx, staff, inst.id)
    assert info["incidents"] == []
    assert "expression_failed" not in [a["action"] for a in info["audit"]]


@pytest.mark.parametrize(
    ("expression", "data", "words"),
    [
        ("event_date", {}, ["NameError", "event_date"]),
        ("event_date", {"event_date": "next tuesday"}, ["next tuesday", "not a date"]),
        ("amount", {}, ["not a date", "int"]),
        # year 0 in UTC, which no column holds (was a 500), and a typo for 2026
        ("event_date", {"event_date": "0001-01-01"}, ["not a date", "1900–2999"]),
        ("event_date", {"event_date": "0226-03-20T09:00+08:00"}, ["not a date", "1900–2999"]),
    ],
)
def test_due_date_expression_errors_open_the_task_without_due_date_with_an_incident(
    ctx, staff, expression, data, words
):
    deploy_with(ctx, {"dueDate": expression, "formFile": "approval_submit.form"})
    inst = start(ctx, staff["alice"], **data)
    row = submit_row(ctx, inst.id)
    assert row.due_at is None and row.status == "open"
    assert_warning(detail(ctx, staff, inst.id), "dueDate", *words)


def test_a_valid_due_date_expression_sets_the_due_time_without_incident(ctx, staff):
    deploy_with(ctx, {"dueDate": "event_date", "formFile": "approval_submit.form"})
    inst = start(ctx, staff["alice"], event_date="2026-03-20")
    assert submit_row(ctx, inst.id).due_at is not None
    assert detail(ctx, staff, inst.id)["incidents"] == []


def test_candidate_groups_expression_error_falls_back_to_the_lane(ctx, staff):
    deploy_with(ctx, {"candidateGroupsExpression": "groups_for(amount)",
                      "formFile": "approval_submit.form"})
    inst = start(ctx, staff["alice"])
    info = detail(ctx, staff, inst.id)
    [task] = info["tasks"]
    assert task["candidate_groups"] == ["planning_specialist"]
    assert_warning(info, "candidateGroupsExpression", "NameError")


def test_a_later_error_does_not_turn_a_warning_into_a_retry(ctx, staff):
    """The warning is not an open incident: the retry action has nothing to retry."""
    from engine.errors import InstanceStateError

    deploy_with(ctx, {"assignee": "no_such_variable", "formFile": "approval_submit.form"})
    inst = start(ctx, staff["alice"])
    with transaction(ctx.sessions) as s, pytest.raises(InstanceStateError):
        control.retry(ctx, s, staff["root"], inst.id)
