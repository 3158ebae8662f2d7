"""The `planflow` command line, end to end on a temporary SQLite database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import MODELS
from web.cli import main


@pytest.fixture
def cli(tmp_path: Path):
    env = {
        "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PLANFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "PLANFLOW_SECRET_KEY": "cli-test-secret",
    }
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        else:
            assert result.exit_code != 0, result.output
        return result.output

    run("db", "upgrade")
    run.env = env  # type: ignore[attr-defined]
    return run


def test_cli_round_trip(cli):
    cli("users", "add", "alice", "--group", "planning_specialist", "--password", "secret-pass-1")
    cli("users", "add", "mgr", "--group", "planning_manager", "--password", "secret-pass-2")
    assert "alice" in cli("users", "list")
    out = cli("deploy", str(MODELS))
    assert "approval_demo v1" in out
    assert "unchanged" in cli("deploy", str(MODELS))

    out = cli("start", "approval_demo", "--data", '{"title": "CLI 项目", "amount": 5000}',
              "--as", "alice")
    instance_id = int(re.search(r"instance (\d+)", out).group(1))
    # a status as the pages name it, then the key an operator types for --status
    assert f"instance {instance_id}: 运行中 running — CLI 项目" in out
    task_id = re.search(r"task (\S+)\s+提交说明", out).group(1)
    assert task_id in cli("tasks", "--as", "alice")

    err = cli("complete", task_id, "--data", '{"description": ""}', "--as", "alice", ok=False)
    assert "description" in err
    out = cli("complete", task_id, "--data", '{"description": "说明"}', "--as", "alice")
    review_id = re.search(r"task (\S+)\s+经理审批", out).group(1)
    shown = json.loads(cli("show", str(instance_id), "--admin"))
    assert shown["status"] == "running" and shown["open_tasks"][0]["element_id"] == "review"
    denied = cli("complete", review_id, "--data", '{"decision": "approve"}', "--as", "alice",
                 ok=False)
    assert "not allowed" in denied
    out = cli("complete", review_id, "--data", '{"decision": "approve"}', "--as", "mgr")
    assert f"instance {instance_id}: 等待中 waiting" in out
    assert json.loads(cli("show", str(instance_id), "--admin"))["status"] == "waiting"
    listed = cli("instances", "--as", "alice", "--status", "waiting")
    assert f"#{instance_id}  approval_demo v1  等待中 waiting CLI 项目" in listed


def test_tick_as_of_fires_due_timers(cli):
    cli("users", "add", "alice", "--group", "planning_specialist", "--password", "secret-pass-1")
    cli("deploy", str(MODELS))
    out = cli("start", "approval_demo", "--data", '{"title": "T", "amount": 5}', "--as", "alice")
    instance_id = int(re.search(r"instance (\d+)", out).group(1))
    task_id = re.search(r"task (\S+)\s+提交说明", out).group(1)
    cli("complete", task_id, "--data", '{"description": "x"}', "--as", "alice")
    assert json.loads(cli("show", str(instance_id), "--admin"))["status"] == "waiting"
    assert "woken 0" in cli("tick")
    assert "woken 1" in cli("tick", "--as-of", "2099-01-01T00:00:00+08:00")
    assert json.loads(cli("show", str(instance_id), "--admin"))["status"] == "completed"


def test_cli_errors_are_clear(cli):
    assert "not found" in cli("start", "nope", "--as", "nobody", ok=False)
    assert "JSON" in cli("start", "x", "--data", "{bad", "--as", "a", ok=False)
    broken = MODELS / "approval_demo.bpmn"
    assert broken.exists()


def test_set_data_moves_a_date_timer(cli, tmp_path):
    from tests.conftest import FIXTURES

    cli("users", "add", "sup", "--group", "planning_supervisor", "--password", "secret-pass-3")
    cli("deploy", str(FIXTURES / "models_extra" / "timers_demo.bpmn"))
    out = cli("start", "timers_demo", "--data", '{"event_date": "2099-03-31T10:00:00+08:00"}',
              "--as", "sup")
    instance_id = int(re.search(r"instance (\d+)", out).group(1))
    out = cli("set-data", str(instance_id), "--data",
              '{"event_date": "2099-04-30T10:00:00+08:00"}', "--as", "sup")
    assert "t_minus_3" in out and "2099-04-27 10:00" in out  # in the department's zone
    shown = json.loads(cli("show", str(instance_id), "--admin"))
    assert "timer_rescheduled" in [a["action"] for a in shown["audit"]]


def test_reading_and_acting_go_through_access_unless_the_operator_says_admin(cli):
    """`show`, `instances`, `retry`, `set-data` and `terminate` act as a person (`--as`, through
    engine.access: 4 = not found for someone with no part in the instance) or, explicitly, as
    the system administrator (`--admin`); never both, never silently as the system."""
    cli("users", "add", "alice", "--group", "planning_specialist", "--password", "secret-pass-1")
    cli("users", "add", "fin", "--group", "finance", "--password", "secret-pass-4")
    cli("deploy", str(MODELS))
    out = cli("start", "approval_demo", "--data", '{"title": "访问", "amount": 5}', "--as", "alice")
    instance_id = re.search(r"instance (\d+)", out).group(1)
    assert json.loads(cli("show", instance_id, "--as", "alice"))["id"] == int(instance_id)
    assert json.loads(cli("show", instance_id, "--admin"))["id"] == int(instance_id)
    # the override is in the instance's audit log: which command, which operator
    overrides = [a for a in json.loads(cli("show", instance_id, "--as", "alice"))["audit"]
                 if a["action"] == "admin_override"]
    assert [o["details"]["command"] for o in overrides] == ["planflow show"], overrides
    assert overrides[0]["actor"] == "system" and overrides[0]["details"]["operator"]
    runner = CliRunner()
    env = {"PLANFLOW_DATABASE_URL": cli.env["PLANFLOW_DATABASE_URL"],
           "PLANFLOW_SECRET_KEY": "cli-test-secret",
           "PLANFLOW_INSTANCE_DIR": cli.env["PLANFLOW_INSTANCE_DIR"]}
    stranger = runner.invoke(main, ["show", instance_id, "--as", "fin"], env=env)
    assert stranger.exit_code == 4, stranger.output
    assert f"#{instance_id}" not in cli("instances", "--as", "fin")
    for args in (["show", instance_id], ["show", instance_id, "--as", "alice", "--admin"],
                 ["retry", instance_id], ["terminate", instance_id, "--reason", "x"]):
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 2 and "--as USER and --admin" in result.output, args


def test_task_due_times_are_shown_in_the_departments_zone(cli):
    """`planflow tasks` printed a due time as stored, 2027-01-01T00:00:00+00:00; the pages show
    it in the department's zone, and so does the CLI now."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, update

    from engine.store.tables import HumanTaskRow

    cli("users", "add", "alice", "--group", "planning_specialist", "--password", "secret-pass-1")
    cli("deploy", str(MODELS))
    out = cli("start", "approval_demo", "--data", '{"title": "CLI 截止", "amount": 5000}',
              "--as", "alice")
    task_id = re.search(r"task (\S+)\s+提交说明", out).group(1)
    db = create_engine(cli.env["PLANFLOW_DATABASE_URL"])
    with db.begin() as conn:
        conn.execute(update(HumanTaskRow).where(HumanTaskRow.id == task_id)
                     .values(due_at=datetime(2027, 1, 1, tzinfo=UTC)))
    db.dispose()
    listed = cli("tasks", "--as", "alice")
    assert "截止 due 2027-01-01 08:00" in listed and "+00:00" not in listed, listed
