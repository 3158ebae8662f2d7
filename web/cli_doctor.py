"""`planflow doctor`: list instances that cannot move on and projection rows that disagree
with the stored state (engine.doctor). Exit status 1 when anything is found, for monitoring."""

from __future__ import annotations

import json
import sys

import click

from engine.doctor import diagnose
from web.cli_common import State, pass_state, run, session_for

KINDS = {
    "unreadable": "状态无法读取 (state unreadable)",
    "stalled": "流程停滞 (cannot make progress)",
    "task_row_missing": "待办缺失 (ready task without an open task row)",
    "task_row_stale": "待办过期 (open task row for a task no longer ready)",
    "timer_missing": "定时器缺失 (waiting timer missing from the timer table)",
    "timer_stale": "定时器过期 (timer row for a timer no longer waiting)",
}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_state
def doctor(state: State, as_json: bool) -> None:
    """Check every unfinished instance as a freshly started process would restore it."""

    def go() -> int:
        with session_for(state) as session:
            findings = diagnose(state.ctx(), session)
        if as_json:
            click.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False))
        elif not findings:
            click.echo("一切正常 (all unfinished instances can progress; projections agree)")
        for f in [] if as_json else findings:
            click.echo(
                f"实例 instance {f.instance_id}  {KINDS.get(f.kind, f.kind)}  "
                f"{f.element_id or '-'}  {f.detail}"
            )
        return 1 if findings else 0

    sys.exit(run(go))


def register(main: click.Group) -> None:
    main.add_command(doctor)
