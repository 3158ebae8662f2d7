"""`planflow ops …`, `planflow absence …`, `planflow notifications …`: the task operations,
A/B absences and notifications on the command line (registered from web/cli.py).

Like the rest of the CLI, commands act as the user named with `--as` (an operator's tool on
the server). `planflow terminate` is replaced by a version that requires `--reason`.
"""

from __future__ import annotations

from typing import Any

import click

from engine import operations
from engine.operations import cc
from engine.read import copies
from web.cli_common import (
    State,
    acting,
    acting_as,
    as_someone,
    echo_json,
    parse_json,
    pass_state,
    run,
    session_for,
    shown_status,
    shown_term,
)


def _open_tasks(state: State, instance_id: int) -> None:
    from engine.read.queries import open_task_rows

    with session_for(state) as session:
        for r in open_task_rows(session, instance_id):
            who = r.assignee or "组 " + ",".join(c.group_name for c in r.candidate_groups)
            hold = " (等待加签 on hold)" if r.status != "open" else ""
            click.echo(f"  待办 task {r.id}  {r.name}  → {who}{hold}")


def _task_op(name: str, help_text: str) -> Any:
    """Decorator stack shared by the commands acting on one task as one user."""

    def wrap(fn: Any) -> Any:
        fn = click.option("--as", "username", required=True, help="acting user")(fn)
        fn = click.argument("task_id")(fn)
        fn = pass_state(fn)
        return ops.command(name, help=help_text)(fn)

    return wrap


@click.group()
def ops() -> None:
    """Task operations: 转办 委派 加签 签署 退回 撤回 催办 抄送 …"""


@_task_op("show", "What the user may do on a task, its signers and delegations (JSON).")
def ops_show(state: State, task_id: str, username: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            echo_json(
                operations.task_operations(state.ctx(), session, acting(session, username), task_id)
            )

    run(go)


@ops.command("history")
@click.argument("instance_id", type=int)
@click.option("--as", "username", required=True)
@pass_state
def ops_history(state: State, instance_id: int, username: str) -> None:
    """An instance's handling history (JSON)."""

    def go() -> None:
        with session_for(state) as session:
            echo_json(
                operations.instance_operations(
                    state.ctx(), session, acting(session, username), instance_id
                )
            )

    run(go)


@_task_op("claim", "认领 Claim a group task.")
def ops_claim(state: State, task_id: str, username: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            operations.claim(state.ctx(), session, acting(session, username), task_id)
        click.echo(f"已认领 claimed {task_id}")

    run(go)


@_task_op("unclaim", "取消认领 Give a claimed task back to its group.")
def ops_unclaim(state: State, task_id: str, username: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            operations.unclaim(state.ctx(), session, acting(session, username), task_id)
        click.echo(f"已取消认领 unclaimed {task_id}")

    run(go)


@_task_op("submit", "提交 Complete a task (waits for after/parallel signers if any).")
@click.option("--data", "data_json", default="{}")
def ops_submit(state: State, task_id: str, username: str, data_json: str) -> None:
    data = parse_json(data_json)

    def go() -> None:
        with session_for(state) as session:
            record = operations.submit(
                state.ctx(), session, acting(session, username), task_id, data
            )
            instance_id, status = record.id, record.status
        click.echo(f"已提交 submitted. 实例 instance {instance_id}: {shown_status(status)}")
        _open_tasks(state, instance_id)

    run(go)


@_task_op("transfer", "转办 Hand a task over to another user for good.")
@click.argument("to_user")
@click.option("--comment", default="")
def ops_transfer(state: State, task_id: str, username: str, to_user: str, comment: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            row = operations.transfer(
                state.ctx(), session, acting(session, username), task_id, to_user, comment
            )
            click.echo(f"已转办 transferred {row.name} → {row.assignee}")

    run(go)


@_task_op("delegate", "委派 Let another user work on it; it comes back to you.")
@click.argument("to_user")
@click.option("--comment", default="")
def ops_delegate(state: State, task_id: str, username: str, to_user: str, comment: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            d = operations.delegate(
                state.ctx(), session, acting(session, username), task_id, to_user, comment
            )
            click.echo(f"已委派 delegated to {d.delegate} (owner {d.owner})")

    run(go)


@_task_op("resolve", "办理委派 The delegate saves their part and gives the task back.")
@click.option("--data", "data_json", default="{}")
@click.option("--comment", default="")
def ops_resolve(state: State, task_id: str, username: str, data_json: str, comment: str) -> None:
    data = parse_json(data_json)

    def go() -> None:
        with session_for(state) as session:
            d = operations.resolve(
                state.ctx(), session, acting(session, username), task_id, data, comment
            )
            click.echo(f"已交还 returned to {d.owner}")

    run(go)


@_task_op("recall", "收回委派 The owner takes a delegated task back.")
def ops_recall(state: State, task_id: str, username: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            d = operations.recall(state.ctx(), session, acting(session, username), task_id)
            click.echo(f"已收回 recalled from {d.delegate}")

    run(go)


@_task_op("add-signer", "加签 Add signers: --mode before | after | parallel.")
@click.argument("users", nargs=-1, required=True)
@click.option("--mode", type=click.Choice(operations.SIGNER_MODES), required=True)
@click.option("--comment", default="")
def ops_add_signer(
    state: State, task_id: str, username: str, users: tuple[str, ...], mode: str, comment: str
) -> None:
    def go() -> None:
        with session_for(state) as session:
            added = operations.add_signers(
                state.ctx(),
                session,
                acting(session, username),
                task_id,
                list(users),
                mode,
                comment,
            )
            for e in added:
                how = shown_term("ops.mode.", e.mode)
                click.echo(f"加签 signer {e.id}: {e.signer} ({how}, "
                           f"{shown_term('ops.signer.', e.status)})")

    run(go)


@ops.command("remove-signer")
@click.argument("signer_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--comment", default="")
@pass_state
def ops_remove_signer(state: State, signer_id: int, username: str, comment: str) -> None:
    """减签 Remove a signer who has not signed yet."""

    def go() -> None:
        with session_for(state) as session:
            e = operations.remove_signer(
                state.ctx(), session, acting(session, username), signer_id, comment
            )
            click.echo(f"已减签 removed {e.signer}")

    run(go)


@_task_op("sign", "签署 A signer's / voter's decision: approve or reject.")
@click.argument("decision", type=click.Choice(["approve", "reject"]))
@click.option("--comment", default="")
def ops_sign(state: State, task_id: str, username: str, decision: str, comment: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            record = operations.sign(
                state.ctx(), session, acting(session, username), task_id, decision, comment
            )
            instance_id, status = record.id, record.status
        shown = shown_status(status)
        click.echo(f"已签署 signed ({decision}). 实例 instance {instance_id}: {shown}")
        _open_tasks(state, instance_id)

    run(go)


@_task_op("return-targets", "The earlier steps a task can be sent back to.")
def ops_return_targets(state: State, task_id: str, username: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            targets = operations.return_targets(
                state.ctx(), session, acting(session, username), task_id
            )
        for t in targets:
            extra = (
                "  (也会取消 also cancels: "
                + ", ".join(c["element_id"] for c in t["also_cancels"])
                + ")"
                if t["also_cancels"]
                else ""
            )
            click.echo(f"{t['element_id']}  {t['name']}  by {t['completed_by'] or '-'}{extra}")

    run(go)


@_task_op("return", "退回 Send the instance back to an earlier step (element id), with a reason.")
@click.argument("target")
@click.option("--reason", required=True)
def ops_return(state: State, task_id: str, username: str, target: str, reason: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            record = operations.return_to(
                state.ctx(), session, acting(session, username), task_id, target, reason
            )
            instance_id = record.id
        click.echo(f"已退回 returned to {target}. 实例 instance {instance_id}")
        _open_tasks(state, instance_id)

    run(go)


@_task_op("withdraw", "撤回 Take back a step you completed while the next is untouched.")
@click.option("--reason", default="")
def ops_withdraw(state: State, task_id: str, username: str, reason: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            record = operations.withdraw(
                state.ctx(), session, acting(session, username), task_id, reason
            )
            instance_id = record.id
        click.echo(f"已撤回 withdrawn. 实例 instance {instance_id}")
        _open_tasks(state, instance_id)

    run(go)


@ops.command("withdraw-instance")
@click.argument("instance_id", type=int)
@click.option("--as", "username", required=True)
@click.option("--reason", default="")
@pass_state
def ops_withdraw_instance(state: State, instance_id: int, username: str, reason: str) -> None:
    """撤回 The initiator takes the whole submission back while nobody has acted."""

    def go() -> None:
        with session_for(state) as session:
            record = operations.withdraw_instance(
                state.ctx(), session, acting(session, username), instance_id, reason
            )
            click.echo(f"实例 instance {record.id}: {shown_status(record.status)}")

    run(go)


@_task_op("remind", "催办 Remind whoever has to act (at most once per interval).")
@click.option("--message", default="")
def ops_remind(state: State, task_id: str, username: str, message: str) -> None:
    def go() -> None:
        with session_for(state) as session:
            users = operations.remind(
                state.ctx(), session, acting(session, username), task_id, message
            )
        click.echo(f"已催办 reminded: {', '.join(users)}")

    run(go)


@ops.command("cc")
@click.argument("instance_id", type=int)
@click.argument("users", nargs=-1, required=True)
@click.option("--task", "task_id", default=None, help="copy on this step only")
@click.option("--note", default="")
@click.option("--as", "username", required=True)
@pass_state
def ops_cc(
    state: State,
    instance_id: int,
    users: tuple[str, ...],
    task_id: str | None,
    note: str,
    username: str,
) -> None:
    """抄送 Copy people on an instance (or one step)."""

    def go() -> None:
        with session_for(state) as session:
            added = cc.cc(
                state.ctx(),
                session,
                acting(session, username),
                instance_id,
                list(users),
                task_id=task_id,
                note=note,
            )
        click.echo(f"已抄送 copied: {', '.join(a.username for a in added) or '-'}")

    run(go)


@ops.command("cc-inbox")
@click.option("--as", "username", required=True)
@click.option("--unread", is_flag=True)
@pass_state
def ops_cc_inbox(state: State, username: str, unread: bool) -> None:
    """抄送我的 Instances copied to the user."""

    def go() -> None:
        with session_for(state) as session:
            actor = acting(session, username)
            page = copies.cc_inbox(session, actor, unread_only=unread, per_page=200)
        for item in page["items"]:
            mark = " " if item["read"] else "●"
            inst = item["instance"]
            click.echo(
                f"{mark} #{item['id']}  实例 {inst['id']} {inst['title']}  "
                f"[{shown_status(inst['status'])}]  from {item['cc_by']}"
            )
        click.echo(f"({page['total']}, unread {page['unread']})")

    run(go)


@click.command("terminate")
@click.argument("instance_id", type=int)
@click.option("--reason", required=True, help="why (required)")
@as_someone
@pass_state
def terminate(
    state: State, instance_id: int, reason: str, username: str | None, as_admin: bool
) -> None:
    """Terminate an instance (initiator or admin); a reason is required."""

    def go() -> None:
        with session_for(state) as session:
            actor = acting_as(state.ctx(), session, username, as_admin, instance_id)
            record = operations.terminate(state.ctx(), session, actor, instance_id, reason)
            click.echo(f"实例 instance {record.id}: {shown_status(record.status)}")

    run(go)


def register(main: click.Group) -> None:
    main.add_command(ops)
    main.add_command(terminate)
