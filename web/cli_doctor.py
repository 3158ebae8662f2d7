"""`planflow doctor`: list instances that cannot move on and projection rows that disagree
with the stored state (engine.usecases.doctor). Exit status 1 when anything is found, for
monitoring."""

from __future__ import annotations

import json
import sys

import click

from engine.context import renewed
from engine.usecases.doctor import diagnose
from web.cli_common import State, pass_state, run, session_for
from web.i18n import catalog


def _label(kind: str) -> str:
    """The page's wording (web/translations), both languages: a terminal has no cookie."""
    entry = catalog().get(f"manage.health.kind.{kind}", {})
    return f"{entry.get('zh', kind)} ({entry.get('en', kind)})"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_state
def doctor(state: State, as_json: bool) -> None:
    """Check every unfinished instance as a freshly started process would restore it."""

    def go() -> int:
        with session_for(state) as session:
            findings = diagnose(renewed(state.ctx()), session)
        if as_json:
            click.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False))
        elif not findings:
            click.echo("一切正常 (all unfinished instances can progress; projections agree)")
        for f in [] if as_json else findings:
            click.echo(
                f"实例 instance {f.instance_id}  {_label(f.kind)}  "
                f"{f.element_id or '-'}  {f.detail}"
            )
        return 1 if findings else 0

    sys.exit(run(go))


def register(main: click.Group) -> None:
    main.add_command(doctor)
