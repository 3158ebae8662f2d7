"""`planflow ops …`, `planflow absence …`, `planflow notifications …` end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.ops.conftest import OPS_MODELS
from web.cli import main


@pytest.fixture
def cli(tmp_path: Path):
    env = {
        "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PLANFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "PLANFLOW_SECRET_KEY": "cli-test-secret",
        "PLANFLOW_NOTIFY_DISPATCHER": "manual",
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
    for name, group in (
        ("req", "requester"),
        ("alice", "planning_specialist"),
        ("bob", "planning_specialist"),
        ("mgr", "planning_manager"),
        ("carol", "planning_specialist"),
    ):
        run("users", "add", name, "--group", group, "--password", "secret-pass-1")
    run("deploy", str(OPS_MODELS))
    return run


def _task(out: str, name: str) -> str:
    return re.search(rf"task (\S+)\s+{name}", out).group(1)


def test_cli_operations(cli):
    data = json.dumps(
        {
            "prep_group": "planning_specialist",
            "handle_user": "bob",
            "handle_group": "planning_specialist",
            "finish_group": "planning_manager",
        }
    )
    out = cli("start", "ops_chain", "--data", data, "--as", "req")
    instance_id = re.search(r"instance (\d+)", out).group(1)
    prepare = _task(out, "准备")
    out = cli("complete", prepare, "--as", "alice")
    handle = _task(out, "办理")

    assert "prepare" in cli("ops", "return-targets", handle, "--as", "bob")
    assert "转办" in cli("ops", "--help")
    out = cli("ops", "transfer", handle, "carol", "--comment", "你来", "--as", "bob")
    assert "→ carol" in out
    cli("ops", "transfer", handle, "bob", "--as", "alice", ok=False)
    out = cli("ops", "add-signer", handle, "mgr", "--mode", "after", "--as", "carol")
    assert "mgr (后加签 after, 待签 pending)" in out  # the pages' names, then the keys
    out = cli("ops", "submit", handle, "--data", '{"summary": "好", "amount": 1}', "--as", "carol")
    assert re.search(r"已提交 submitted\. 实例 instance \d+: 运行中 running", out), out
    step = re.search(r"task (\S+)\s+办理（后加签）  → mgr", out).group(1)
    out = cli("ops", "sign", step, "approve", "--comment", "同意", "--as", "mgr")
    assert "确认" in out and ": 运行中 running" in out
    shown = json.loads(cli("ops", "show", handle, "--as", "carol"))
    assert shown["signers"][0]["status"] == "approved"
    assert "task_completed" in cli("ops", "history", instance_id, "--as", "carol")

    out = cli("ops", "remind", _task(out, "确认"), "--as", "req")
    assert "mgr" in out
    cli("ops", "cc", instance_id, "bob", "--note", "知悉", "--as", "req")
    assert "● #" in cli("ops", "cc-inbox", "--as", "bob")
    listed = cli("notifications", "list", "--as", "bob", "--unread")
    assert "【抄送】" in listed and "+00:00" not in listed  # times in the department's zone
    assert "marked" in cli("notifications", "read", "--as", "bob")
    assert "sent 0" in cli("notifications", "deliver")

    cli(
        "absence",
        "away",
        "alice",
        "--deputy",
        "bob",
        "--until",
        "2099-01-01T00:00",
        "--as",
        "alice",
    )
    assert '"username": "alice"' in cli("absence", "list", "--as", "alice")
    assert "0 task(s) returned" in cli("absence", "back", "alice", "--as", "mgr")
    assert "moved 0" in cli("absence", "sync")

    err = cli("terminate", instance_id, "--as", "req", ok=False)
    assert "--reason" in err
    assert "terminated" in cli("terminate", instance_id, "--reason", "测试结束", "--as", "req")
