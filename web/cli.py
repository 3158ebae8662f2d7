"""The `planflow` command line. Commands act as a named user (`--as`); the CLI is an operator's
tool on the server, so it trusts the name it is given (no password)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine import operations
from engine.clock import FixedClock
from engine.read import queries
from engine.usecases import control, instances
from engine.wall_clock import shown
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
    typed_time,
)


def _who(task: dict[str, Any]) -> str:
    return task["assignee"] or "组 " + ",".join(task["candidate_groups"])


@click.group()
def main() -> None:
    """planflow — 企业策划部流程自动化 (BPMN process automation)."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Create or migrate the schema to the latest version (Alembic)."""
    from engine.store.migrate import upgrade

    upgrade(state.ctx().db)
    click.echo("数据库已是最新 (database schema is up to date)")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--as", "username", default=None, help="deploying user (default: system)")
@pass_state
def deploy(state: State, paths: tuple[Path, ...], username: str | None) -> None:
    """Deploy BPMN/DMN/form files (default: the bpmn/ folder)."""
    from engine.usecases.deploy import deploy as deploy_models
    from engine.usecases.deploy import uploads_from_paths

    def go() -> None:
        ctx = state.ctx()
        uploads = uploads_from_paths(list(paths) or [ctx.settings.bpmn_dir])
        with session_for(state) as session:
            results = deploy_models(ctx, session, uploads, username or "system")
        for r in results:
            verb = "新版本 deployed" if r.created else "未变化 unchanged"
            click.echo(f"{r.key} v{r.version}: {verb} ({r.name})")

    run(go)


@main.command()
@click.argument("key")
@click.option("--data", "data_json", default="{}", help="initial data as a JSON object")
@click.option("--as", "username", required=True)
@pass_state
def start(state: State, key: str, data_json: str, username: str) -> None:
    """Start an instance of a process model."""
    data = parse_json(data_json)

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting(session, username)
            record = instances.start(ctx, session, actor, key, data)
            detail = queries.get_instance(ctx, session, actor, record.id, latest=True)
        status = shown_status(detail["status"])
        click.echo(f"实例 instance {detail['id']}: {status} — {detail['title']}")
        for t in detail["open_tasks"]:
            click.echo(
                f"  待办 task {t['id']}  {t['name']}  → {_who(t)}"
            )

    run(go)


@main.command()
@click.option("--as", "username", required=True)
@click.option("--done", is_flag=True, help="tasks completed by the user")
@pass_state
def tasks(state: State, username: str, done: bool) -> None:
    """List a user's tasks (assigned to them or their groups)."""

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting(session, username)
            page = queries.list_tasks(
                ctx, session, actor, status="completed" if done else "open", per_page=200
            )
        zone = ctx.settings.zone
        for t in page.items:  # times in the department's zone, as on the pages
            due = f"  截止 due {shown(t['due_at'], zone)}" if t["due_at"] else ""
            who = t["assignee"] or "组 " + ",".join(t["candidate_groups"])
            click.echo(
                f"{t['id']}  #{t['instance_id']} {t['instance_title']} / {t['name']}  [{who}]{due}"
            )
        click.echo(f"({page.total})")

    run(go)


@main.command()
@click.argument("task_id")
@click.option("--data", "data_json", default="{}")
@click.option("--as", "username", required=True)
@pass_state
def complete(state: State, task_id: str, data_json: str, username: str) -> None:
    """Complete a task with form data."""
    data = parse_json(data_json)

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting(session, username)
            record = operations.submit(ctx, session, actor, task_id, data)
            detail = queries.get_instance(ctx, session, actor, record.id, latest=True)
        status = shown_status(detail["status"])
        click.echo(f"已完成 completed. 实例 instance {detail['id']}: {status}")
        for t in detail["open_tasks"]:
            click.echo(
                f"  待办 task {t['id']}  {t['name']}  → {_who(t)}"
            )

    run(go)


@main.command("instances")
@click.option("--status", default=None)
@click.option("--process", default=None)
@as_someone
@pass_state
def list_instances(
    state: State, status: str | None, process: str | None, username: str | None, as_admin: bool
) -> None:
    """List the process instances the user may see (--admin: all)."""

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting_as(state.ctx(), session, username, as_admin)
            page = queries.list_instances(
                ctx, session, actor, status=status, process=process, per_page=200
            )
        for i in page.items:
            click.echo(
                f"#{i['id']}  {i['process']} v{i['version']}  {shown_status(i['status'])} "
                f"{i['title']}  [{i['stage'] or '-'}]  by {i['started_by']}"
            )
        click.echo(f"({page.total})")

    run(go)


@main.command()
@click.argument("instance_id", type=int)
@as_someone
@pass_state
def show(state: State, instance_id: int, username: str | None, as_admin: bool) -> None:
    """Show an instance: status, data, tasks, timers, audit log."""

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting_as(state.ctx(), session, username, as_admin, instance_id)
            echo_json(queries.get_instance(ctx, session, actor, instance_id))

    run(go)


@main.command()
@click.argument("instance_id", type=int)
@as_someone
@pass_state
def retry(state: State, instance_id: int, username: str | None, as_admin: bool) -> None:
    """Retry an instance after an incident."""

    def go() -> None:
        with session_for(state) as session:
            actor = acting_as(state.ctx(), session, username, as_admin, instance_id)
            record = control.retry(state.ctx(), session, actor, instance_id)
            click.echo(f"实例 instance {record.id}: {shown_status(record.status)}")

    run(go)


@main.command("set-data")
@click.argument("instance_id", type=int)
@click.option("--data", "data_json", required=True, help="variables to change, as JSON")
@as_someone
@pass_state
def set_data(
    state: State, instance_id: int, data_json: str, username: str | None, as_admin: bool
) -> None:
    """Change instance variables (e.g. move event_date); waiting date timers follow."""
    changes = parse_json(data_json)

    def go() -> None:
        ctx = state.ctx()
        with session_for(state) as session:
            actor = acting_as(ctx, session, username, as_admin, instance_id)
            instances.update_data(ctx, session, actor, instance_id, changes)
            detail = queries.get_instance(ctx, session, actor, instance_id, latest=True)
        click.echo(f"实例 instance {instance_id}: {shown_status(detail['status'])}")
        for t in detail["timers"]:
            due = shown(t["due_at"], ctx.settings.zone)
            click.echo(f"  定时 timer {t['element_id']}  截止 due {due}")

    run(go)


@main.command()
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="ISO 8601 instant to process as 'now' (for tests, demos and backfills)",
)
@pass_state
def tick(state: State, as_of: str | None) -> None:
    """Fire every timer due as of now (or --as-of) once, then exit."""
    from engine.timing.timers import process_due

    if as_of:
        state.clock = FixedClock(typed_time(state, as_of))

    def go() -> None:
        report = process_due(state.ctx())
        click.echo(
            f"woken {report.fired} instance(s); conflicts {len(report.conflicts)}; "
            f"failed {len(report.failed)}"
        )
        for iid, msg in report.failed.items():
            click.echo(f"  #{iid}: {msg}", err=True)

    run(go)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, type=int, help="requests served at once per process")
@click.option(
    "--processes",
    default=1,
    type=click.IntRange(1, 64),
    help="web processes; above 1: gunicorn's pre-fork workers, no scheduler (timers run in "
    "`planflow worker`)",
)
@click.option("--no-scheduler", is_flag=True, help="do not run timers in this process")
@click.option(
    "--cpus",
    default="off",
    show_default=True,
    envvar="PLANFLOW_SERVE_CPUS",
    help="keep each web process on one CPU: off, auto (on a machine of planflow's own) or CPU "
    "numbers such as 2,3 (web/cpu_pinning.py)",
)
@pass_state
def serve(
    state: State, host: str, port: int, threads: int, processes: int, no_scheduler: bool,
    cpus: str,
) -> None:
    """Serve the web UI and API (waitress), with the timer scheduler embedded.

    SIGTERM/SIGINT stop it gracefully (web/lifecycle.py): requests in flight finish, the
    scheduler's lease is released, exit within 10 s. With --processes N > 1: N web processes
    under gunicorn (web/multiprocess.py), each with its own engine context, none with a
    scheduler; the group stops the same way."""
    from web import cpu_pinning

    choice = cpu_pinning.parse(cpus)
    cpu_pinning.check(choice)
    if processes > 1:
        from web.multiprocess import serve_processes

        serve_processes(host=host, port=port, processes=processes, threads=threads, cpus=choice)
    cpu = cpu_pinning.pin(choice, 0)  # before any thread starts: they all inherit it
    from engine.timing.scheduler import start_scheduler
    from web import create_app
    from web.lifecycle import StopSignals
    from web.lifecycle import serve as serve_gracefully

    signals = StopSignals().install()
    ctx = state.ctx()
    scheduler = None
    if not no_scheduler and ctx.settings.scheduler_enabled:
        # first: after a restart, timers due meanwhile need not wait for the app's set-up
        scheduler = start_scheduler(ctx)
        click.echo("planflow timers: scheduler started")
    try:
        app = create_app(context=ctx)
        click.echo(
            f"planflow serving on http://{host}:{port}/ (scheduler: "
            f"{'embedded' if scheduler else 'off'}; CPU: {'any' if cpu is None else cpu})"
        )
        # until SIGTERM/SIGINT, then exits the process
        serve_gracefully(app, host=host, port=port, threads=threads, scheduler=scheduler,
                         signals=signals, dispose=ctx.close)
    except BaseException:  # while starting (e.g. the port is taken)
        if scheduler is not None:
            scheduler.shutdown()
        raise


@main.command()
@pass_state
def worker(state: State) -> None:
    """Run the timer scheduler alone (no web server).

    SIGTERM/SIGINT stop it gracefully: the timer batch in flight commits, the lease is
    released, exit within 10 s."""
    from engine.timing.scheduler import start_scheduler
    from web.lifecycle import StopSignals, run_worker

    signals = StopSignals().install()
    ctx = state.ctx()
    scheduler = start_scheduler(ctx)
    click.echo("planflow worker running; Ctrl-C or SIGTERM to stop")
    run_worker(scheduler, signals, dispose=ctx.close)  # exits the process once stopped


@main.command()
@click.option("--password", default="planflow-demo", show_default=True)
@pass_state
def demo(state: State, password: str) -> None:
    """Create demo users for every group, deploy bpmn/, start a few instances."""
    from web.demo import load_demo

    def go() -> None:
        for line in load_demo(state.ctx(), password):
            click.echo(line)

    run(go)


from web import cli_doctor, cli_messages, cli_ops, cli_people  # noqa: E402  (see their docs)

for _commands in (cli_ops, cli_people, cli_doctor, cli_messages):
    _commands.register(main)

if __name__ == "__main__":
    main()
