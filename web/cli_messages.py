"""`planflow message ID NAME --data JSON --as USER`: send an instance a message it waits for —
e.g. 风险上报 `raise_risk` or 追加预算申请 `request_extra_budget` while a project executes — as
that person, through `engine.access` like the API and the instance page. The person is the
sender (上报人 / 申请人) unless the data names someone else."""

from __future__ import annotations

import click

from engine.read import queries
from engine.usecases import instances
from web.cli_common import (
    State,
    acting,
    parse_json,
    pass_state,
    run,
    session_for,
    shown_status,
)
from web.project_messages import with_sender


@click.command()
@click.argument("instance_id", type=int)
@click.argument("name")
@click.option("--data", "data_json", default="{}", help="the message's payload, as JSON")
@click.option("--as", "username", required=True, help="acting user (the sender)")
@pass_state
def message(state: State, instance_id: int, name: str, data_json: str, username: str) -> None:
    """Send a message to an instance (e.g. raise_risk, request_extra_budget)."""
    payload = parse_json(data_json)

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting(session, username)
            instances.send_message(
                ctx, session, actor, instance_id, name, with_sender(name, payload, actor.username)
            )
            detail = queries.get_instance(ctx, session, actor, instance_id, latest=True)
        status = shown_status(detail["status"])
        click.echo(f"实例 instance {instance_id}: {status} — 已发送 sent {name}")
        for t in detail["open_tasks"]:
            who = t.get("assignee") or ", ".join(t.get("candidate_groups") or [])
            click.echo(f"  待办 task {t['id']}  {t['name']}  → {who}")

    run(go)


def register(main: click.Group) -> None:
    main.add_command(message)
