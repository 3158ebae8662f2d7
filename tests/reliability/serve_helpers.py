"""Stopping real `planflow serve` / `planflow worker` processes, shared by the shutdown and the
multi-process tests: a slow-starting model, a database prepared on SQLite or PostgreSQL, the
SQLite scheduler lease, a signal and the wait for the exit, the checks on a clean log, and a
thread that keeps starting instances until the server stops answering."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.reliability.conftest import PASSWORD, USERS, Conn, Prepared, prepare
from tests.reliability.helpers import planflow_env, stop

EXIT_SECONDS = 10.0  # the requirement

# A slow request: the script task loops `rounds` x `loops` times before the instance is saved
# (~2 s here with 1 x SLOW_LOOPS on an idle machine; a script's range() is capped at 1e6).
SLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_rel_slow" targetNamespace="http://planflow.test">
  <bpmn:process id="rel_slow" name="慢启动" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>total = 0
for r in range(rounds):
    for i in range(loops):
        total = total + i % 7</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="check" name="检查">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="requester"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
SLOW_LOOPS = 500_000


# --- preparing a database (SQLite, or PostgreSQL when reachable) ------------------------------


def prepare_backend(backend: str, tmp: Path, models: dict[str, str],
                    request: pytest.FixtureRequest | None = None) -> Prepared:
    extra = {"PYTHONUNBUFFERED": "1"}  # the logs show each line as it is printed
    if backend == "sqlite":
        prep = prepare(tmp, models)
        prep.env.update(extra)
        return prep
    assert request is not None
    url = request.getfixturevalue("postgres_db")
    from engine.context import build_context
    from engine.people.accounts import add_user, ensure_standard_groups, issue_token, to_actor
    from engine.settings import Settings
    from engine.store.db import transaction
    from engine.usecases.deploy import Upload, deploy
    from tests.conftest import reset_postgres

    env = planflow_env(url, tmp, **extra)
    ctx = build_context(Settings(database_url=url, secret_key=env["PLANFLOW_SECRET_KEY"]))
    try:
        reset_postgres(ctx.db)
        tokens = {}
        with transaction(ctx.sessions) as s:
            ensure_standard_groups(s)
        with transaction(ctx.sessions) as s:
            for username, groups in USERS.items():
                user = add_user(s, username, PASSWORD, now=ctx.clock.now(), groups=groups)
                s.flush()
                s.refresh(user)
                tokens[username] = issue_token(s, to_actor(user), ctx.clock.now(), 24)
        with transaction(ctx.sessions) as s:
            deploy(ctx, s, [Upload(n, t.encode()) for n, t in models.items()], "owner")
    finally:
        ctx.db.dispose()
    return Prepared(url, env, tokens, env["PLANFLOW_SECRET_KEY"])


def lease(url: str) -> tuple[str, datetime] | None:
    """The SQLite scheduler lease: (owner, expires_at), read with a connection of our own."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT owner, expires_at FROM scheduler_leases WHERE name = 'timers'")
            ).first()
    finally:
        engine.dispose()
    if row is None:
        return None
    expires = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(row[1])
    return row[0], expires if expires.tzinfo else expires.replace(tzinfo=UTC)  # stored as UTC


def lease_held_by(url: str, pid: int) -> bool:
    """The lease is live and its owner ("host:pid:random") is that process."""
    held = lease(url)
    return (held is not None and held[0].split(":")[1] == str(pid)
            and held[1] > datetime.now(UTC))


# --- processes ------------------------------------------------------------------------------


def signal_and_wait(proc: subprocess.Popen[bytes], sig: int) -> float:
    """Send `sig` to the process itself; seconds until it exited (fails after 30 s)."""
    began = time.monotonic()
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop(proc, signal.SIGKILL)
        raise AssertionError(f"no exit 30 s after {signal.Signals(sig).name}") from None
    return time.monotonic() - began


def clean_log(log: Path) -> str:
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    assert "planflow stopped" in text and "abandoned" not in text, text
    return text


# --- load while stopping ---------------------------------------------------------------------


class Starter(threading.Thread):
    """Starts instances over one keep-alive connection until the server stops answering;
    every answer it got is recorded (status, instance id, when)."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.answers: list[tuple[int, int | None, float]] = []
        self.broke_at: float | None = None
        self.broke_with: BaseException | None = None
        self.stop = False

    def run(self) -> None:
        conn = Conn(self.port, timeout=30)
        try:
            while not self.stop:
                status, body = conn.call("POST", "/api/v1/process-instances",
                                         {"process": "rel3", "data": {"amount": 5000}},
                                         token=self.token)
                self.answers.append((status, body.get("id") if status == 201 else None,
                                     time.monotonic()))
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, closed
            self.broke_at, self.broke_with = time.monotonic(), exc
        finally:
            conn.close()
