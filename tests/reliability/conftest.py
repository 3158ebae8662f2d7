"""Shared pieces of the reliability suite: small self-contained models, a database prepared
in-process (users, tokens, models), a keep-alive HTTP connection, a pre-imported "zygote" that
forks real `planflow serve` processes in a fraction of a second (for 100 crash/restart rounds),
and the invariants every instance must satisfy (state vs projection vs audit log)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.reliability.helpers import ROOT, planflow_env

PASSWORD = "reliability-pw-1"

# Like the common bench model (15 elements, 3 user tasks, script tasks, an exclusive and a
# parallel gateway); lanes carry the department's group display names.
APPROVAL3 = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_rel3" targetNamespace="http://planflow.test">
  <bpmn:process id="rel3" name="三步审批" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l_req" name="需求部门"><bpmn:flowNodeRef>ut1</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l_mgr" name="策划部经理"><bpmn:flowNodeRef>ut2</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>ut3</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>history = []
status = 'new'</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="ut1" name="提交"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" default="f_small"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f_big</bpmn:outgoing><bpmn:outgoing>f_small</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:scriptTask id="big"><bpmn:incoming>f_big</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>route = 'big'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="small"><bpmn:incoming>f_small</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing><bpmn:script>route = 'small'</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="ut2" name="审核"><bpmn:incoming>f6</bpmn:incoming>
      <bpmn:outgoing>f7</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="psplit"><bpmn:incoming>f7</bpmn:incoming>
      <bpmn:outgoing>f8</bpmn:outgoing><bpmn:outgoing>f9</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:scriptTask id="notify"><bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f10</bpmn:outgoing>
      <bpmn:script>notified = True</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="audit"><bpmn:incoming>f9</bpmn:incoming><bpmn:outgoing>f11</bpmn:outgoing>
      <bpmn:script>audited = len(history)</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="pjoin"><bpmn:incoming>f10</bpmn:incoming>
      <bpmn:incoming>f11</bpmn:incoming><bpmn:outgoing>f12</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="ut3" name="批准"><bpmn:incoming>f12</bpmn:incoming>
      <bpmn:outgoing>f13</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="final"><bpmn:incoming>f13</bpmn:incoming><bpmn:outgoing>f14</bpmn:outgoing>
      <bpmn:script>status = 'approved' if approved else 'rejected'</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f14</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="ut1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ut1" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_big" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression>amount &gt; 1000</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="gw" targetRef="small"/>
    <bpmn:sequenceFlow id="f4" sourceRef="big" targetRef="merge"/>
    <bpmn:sequenceFlow id="f5" sourceRef="small" targetRef="merge"/>
    <bpmn:sequenceFlow id="f6" sourceRef="merge" targetRef="ut2"/>
    <bpmn:sequenceFlow id="f7" sourceRef="ut2" targetRef="psplit"/>
    <bpmn:sequenceFlow id="f8" sourceRef="psplit" targetRef="notify"/>
    <bpmn:sequenceFlow id="f9" sourceRef="psplit" targetRef="audit"/>
    <bpmn:sequenceFlow id="f10" sourceRef="notify" targetRef="pjoin"/>
    <bpmn:sequenceFlow id="f11" sourceRef="audit" targetRef="pjoin"/>
    <bpmn:sequenceFlow id="f12" sourceRef="pjoin" targetRef="ut3"/>
    <bpmn:sequenceFlow id="f13" sourceRef="ut3" targetRef="final"/>
    <bpmn:sequenceFlow id="f14" sourceRef="final" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# Which user completes which step of APPROVAL3, and with what.
STEP_USERS = {"ut1": ("req1", "req2"), "ut2": ("mgr1", "mgr2"), "ut3": ("mgr1", "mgr2")}
STEP_DATA: dict[str, dict[str, Any]] = {
    "ut1": {"amount": 5000}, "ut2": {"reviewed": True}, "ut3": {"approved": True},
}

# A one-shot timer and a non-interrupting cycle timer on a user task that stays open; both
# expressions come from the start data, so one model serves minutes and weeks.
TIMERS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_rel_timers" targetNamespace="http://planflow.test">
  <bpmn:process id="rel_timers" name="定时器重启" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fb</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:intermediateCatchEvent id="once" name="一次">
      <bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td1"><bpmn:timeDuration>delay_once</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="once_done"><bpmn:incoming>fa2</bpmn:incoming>
      <bpmn:outgoing>fa3</bpmn:outgoing><bpmn:script>once_fired = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end_a"><bpmn:incoming>fa3</bpmn:incoming></bpmn:endEvent>
    <bpmn:userTask id="monitor" name="监控">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateGroups" value="planning_supervisor"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="every" name="周期" attachedToRef="monitor" cancelActivity="false">
      <bpmn:outgoing>fc</bpmn:outgoing>
      <bpmn:timerEventDefinition id="td2"><bpmn:timeCycle>cycle</bpmn:timeCycle>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:scriptTask id="on_cycle"><bpmn:incoming>fc</bpmn:incoming>
      <bpmn:outgoing>fc2</bpmn:outgoing><bpmn:script>cycled = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_c"><bpmn:incoming>fc2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>fb2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="once"/>
    <bpmn:sequenceFlow id="fa2" sourceRef="once" targetRef="once_done"/>
    <bpmn:sequenceFlow id="fa3" sourceRef="once_done" targetRef="end_a"/>
    <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="monitor"/>
    <bpmn:sequenceFlow id="fb2" sourceRef="monitor" targetRef="end_b"/>
    <bpmn:sequenceFlow id="fc" sourceRef="every" targetRef="on_cycle"/>
    <bpmn:sequenceFlow id="fc2" sourceRef="on_cycle" targetRef="end_c"/>
  </bpmn:process>
</bpmn:definitions>
"""

USERS = {
    "req1": ["requester"],
    "req2": ["requester"],
    "mgr1": ["planning_manager"],
    "mgr2": ["planning_manager"],
    "sup": ["planning_supervisor"],
    "owner": ["process_owner"],
    "staff": ["planning_specialist"],
}


@dataclass
class Prepared:
    url: str
    env: dict[str, str]
    tokens: dict[str, str]
    secret: str


def prepare(tmp: Path, models: dict[str, str], *, users: dict[str, list[str]] | None = None,
            name: str = "rel.sqlite3") -> Prepared:
    """A fresh SQLite database: migrated, users with API tokens, the given models deployed."""
    from engine.context import build_context
    from engine.people.accounts import add_user, issue_token, to_actor
    from engine.settings import Settings
    from engine.store.db import transaction
    from engine.store.migrate import upgrade
    from engine.usecases.deploy import Upload, deploy

    url = f"sqlite:///{tmp / name}"
    env = planflow_env(url, tmp)
    ctx = build_context(Settings(database_url=url, secret_key=env["PLANFLOW_SECRET_KEY"]))
    upgrade(ctx.db)
    tokens = {}
    with transaction(ctx.sessions) as s:
        for username, groups in (users or USERS).items():
            user = add_user(s, username, PASSWORD, now=ctx.clock.now(), groups=groups)
            s.flush()
            s.refresh(user)
            tokens[username] = issue_token(s, to_actor(user), ctx.clock.now(), 24)
    if models:
        with transaction(ctx.sessions) as s:
            deploy(ctx, s, [Upload(n, t.encode()) for n, t in models.items()], "owner")
    ctx.db.dispose()
    return Prepared(url, env, tokens, env["PLANFLOW_SECRET_KEY"])


# --- HTTP ---------------------------------------------------------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection to the server; JSON in and out."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30) -> None:
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def close(self) -> None:
        self.conn.close()

    def raw(self, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        hdrs = dict(headers or {})
        if self.token and "Authorization" not in hdrs:
            hdrs["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, path, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}

    def call(self, method: str, path: str, body: Any = None,
             token: str | None = None) -> tuple[int, Any]:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, data, _ = self.raw(method, path, payload, headers)
        return status, (json.loads(data) if data else None)


def wait_healthy(port: int, timeout: float = 60, proc: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            c = Conn(port, timeout=5)
            status, _ = c.call("GET", "/api/v1/healthz")
            c.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("server did not become healthy")


def error_shape(body: Any) -> bool:
    """The documented error body: {"error": {"code", "message", "details"}}."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), dict)
        and isinstance(body["error"].get("code"), str)
        and isinstance(body["error"].get("message"), str)
        and isinstance(body["error"].get("details"), dict)
    )


# --- the zygote: forks real servers quickly -------------------------------------------------

_ZYGOTE = r"""
import os, signal, sys
import web.cli
import web, engine.context, engine.timing.scheduler, waitress  # the heavy imports, once
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
for line in sys.stdin:
    args = line.split()
    if not args:
        break
    log, argv = args[0], args[1:]
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            web.cli.main(argv, prog_name="planflow")
        finally:
            os._exit(0)
    print(pid, flush=True)
"""


class Zygote:
    """A process that has imported planflow once and forks `planflow <argv>` children: each
    child is a real server process (the CLI's own `serve`), started in ~0.2 s instead of 2-4 s."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE], env=env, cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, start_new_session=True,
        )

    def spawn(self, log: Path, *argv: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(" ".join([str(log), *argv]) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def kill_and_wait(pid: int, sig: int = signal.SIGKILL, timeout: float = 15) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not exit")


# --- invariants -----------------------------------------------------------------------------


def check_invariants(url: str, secret: str = "x") -> dict[str, int]:
    """Every instance restores, its status fits its workflow, the task projection and the
    audit log agree with the state. Returns counts (instances by status, tasks)."""
    from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin
    from SpiffWorkflow.util.task import TaskState

    from engine.context import build_context
    from engine.settings import Settings
    from engine.store.instance_state import parsed_model
    from engine.store.tables import AuditRecord, HumanTaskRow, InstanceRecord

    ctx = build_context(Settings(database_url=url, secret_key=secret))
    problems: list[str] = []
    counts: Counter[str] = Counter()
    try:
        with ctx.sessions() as s:
            audits = s.scalars(select(AuditRecord)).all()
            rows = s.scalars(select(HumanTaskRow)).all()
            by_instance_rows: dict[int, list[HumanTaskRow]] = {}
            for r in rows:
                by_instance_rows.setdefault(r.instance_id, []).append(r)
            completed_audits = Counter(a.task_id for a in audits if a.action == "task_completed")
            created_audits = Counter(a.task_id for a in audits if a.action == "task_created")
            started = Counter(a.instance_id for a in audits if a.action == "started")
            ended = Counter(a.instance_id for a in audits if a.action == "completed")
            audit_actor = {a.task_id: a.actor for a in audits if a.action == "task_completed"}
            for record in s.scalars(select(InstanceRecord)).all():
                counts[record.status] += 1
                model = parsed_model(ctx, s, record.version_id)
                try:
                    wf = ctx.serializer.loads(record.state, model.spec, model.subprocess_specs)
                except Exception as exc:
                    problems.append(f"#{record.id}: state does not restore: {exc!r}")
                    continue
                user_tasks = wf.get_tasks(spec_class=UserTaskMixin)
                ready = {str(t.id) for t in user_tasks if t.state == TaskState.READY}
                done = {str(t.id) for t in user_tasks if t.state == TaskState.COMPLETED}
                if wf.is_completed() != (record.status == "completed"):
                    problems.append(f"#{record.id}: status {record.status} but workflow "
                                    f"completed={wf.is_completed()}")
                if record.status in ("running", "waiting") and (
                        (record.status == "running") != bool(ready)):
                    problems.append(f"#{record.id}: status {record.status}, ready {len(ready)}")
                if record.status == "error":
                    problems.append(f"#{record.id}: in error")
                mine = by_instance_rows.get(record.id, [])
                open_rows = {r.id for r in mine if r.status == "open"}
                done_rows = {r.id for r in mine if r.status == "completed"}
                if open_rows != ready:
                    problems.append(f"#{record.id}: open rows {sorted(open_rows)} != READY "
                                    f"user tasks {sorted(ready)}")
                if done_rows != done:
                    problems.append(f"#{record.id}: completed rows {sorted(done_rows)} != "
                                    f"COMPLETED user tasks {sorted(done)}")
                if started[record.id] != 1:
                    problems.append(f"#{record.id}: {started[record.id]} 'started' audits")
                if ended[record.id] != (1 if record.status == "completed" else 0):
                    problems.append(f"#{record.id}: {ended[record.id]} 'completed' audits, "
                                    f"status {record.status}")
                counts["tasks"] += len(mine)
            for r in rows:
                if created_audits[r.id] != 1:
                    problems.append(f"task {r.id}: {created_audits[r.id]} task_created audits")
                want = 1 if r.status == "completed" else 0
                if completed_audits[r.id] != want:
                    problems.append(f"task {r.id} ({r.status}): {completed_audits[r.id]} "
                                    "task_completed audits")
                if r.status == "completed" and audit_actor.get(r.id) != r.completed_by:
                    problems.append(f"task {r.id}: completed_by {r.completed_by} but audit "
                                    f"actor {audit_actor.get(r.id)}")
            known = {r.id for r in rows}
            for task_id in completed_audits:
                if task_id not in known:
                    problems.append(f"audit task_completed for unknown task {task_id}")
    finally:
        ctx.db.dispose()
    assert not problems, "\n".join(problems[:40])
    return dict(counts)
