"""End-to-end scenarios of the department's three processes through the JSON API.

Every step is done by a user of the group the diagram gives it to, and each test checks whose
inbox a task lands in (`GET /api/v1/tasks` per user). Time is moved with the fixtures' FixedClock
and timers are fired with `engine.timing.timers.process_due`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from docx import Document

from engine.clock import FixedClock
from engine.context import EngineContext, renewed
from engine.people.accounts import add_user
from engine.store.db import transaction
from engine.timing.timers import TickReport, process_due
from engine.usecases.deploy import deploy, uploads_from_paths
from tests.conftest import PASSWORD

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"

# Users beyond tests.conftest.STAFF (alice, bob: specialists; mgr; sup; req; fin; owner; root),
# so that every group of the three diagrams has somebody.
EXTRA_STAFF: dict[str, list[str]] = {
    "sup2": ["planning_supervisor"],  # B角
    "law": ["legal"],
    "des": ["design"],
    "sales1": ["sales"],
    "tec": ["tech"],
    "boss": ["executive"],
}


def add_extra_staff(ctx: EngineContext) -> None:
    with transaction(ctx.sessions) as session:
        for name, groups in EXTRA_STAFF.items():
            add_user(session, name, PASSWORD, now=ctx.clock.now(), groups=groups)


def deploy_department_models(ctx: EngineContext) -> None:
    with transaction(ctx.sessions) as session:
        results = deploy(ctx, session, uploads_from_paths([BPMN_DIR]), "owner")
    assert {r.key for r in results} == {"project_initiation", "product_launch", "brand_promotion"}


@dataclass
class Api:
    """The JSON API as the department's users see it. Tokens are re-issued when the clock has
    moved far (the scenarios span months; tokens live 30 days)."""

    client: Any
    token_for: Any
    clock: FixedClock
    _fresh: dict[str, tuple[dict[str, str], datetime]] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        cached = self._fresh.get(user)
        if cached is None:
            headers = self.token_for(user)
        elif self.clock.now() - cached[1] > timedelta(days=20):
            r = self.client.post(
                "/api/v1/auth/token", json={"username": user, "password": PASSWORD}
            )
            assert r.status_code == 201, r.get_json()
            headers = {"Authorization": f"Bearer {r.get_json()['token']}"}
        else:
            return cached[0]
        self._fresh[user] = (headers, self.clock.now())
        return headers

    def get(self, user: str, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(user), **kwargs)

    def post(self, user: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self.headers(user), json=body or {})

    # --- instances and tasks --------------------------------------------------------------

    def start(self, user: str, process: str, data: dict[str, Any]) -> dict[str, Any]:
        r = self.post(user, "/process-instances", {"process": process, "data": data})
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def instance(self, user: str, instance_id: int) -> dict[str, Any]:
        r = self.get(user, f"/process-instances/{instance_id}")
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def inbox(self, user: str, instance_id: int | None = None) -> list[dict[str, Any]]:
        r = self.get(user, "/tasks", query_string={"per_page": 200})
        assert r.status_code == 200, r.get_json()
        items = r.get_json()["items"]
        return [t for t in items if instance_id is None or t["instance_id"] == instance_id]

    def open_elements(self, user: str, instance_id: int) -> list[str]:
        return sorted(t["element_id"] for t in self.inbox(user, instance_id))

    def task(self, user: str, instance_id: int, element_id: str) -> dict[str, Any]:
        """The one open task `element_id` in the user's inbox (fails if absent or ambiguous)."""
        found = [t for t in self.inbox(user, instance_id) if t["element_id"] == element_id]
        assert len(found) == 1, (user, element_id, self.open_elements(user, instance_id))
        return found[0]

    def tasks(self, user: str, instance_id: int, element_id: str) -> list[dict[str, Any]]:
        return [t for t in self.inbox(user, instance_id) if t["element_id"] == element_id]

    def complete(self, user: str, task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        r = self.post(user, f"/tasks/{task['id']}/complete", {"data": data})
        assert r.status_code == 200, (task["element_id"], r.get_json())
        instance = r.get_json()["instance"]
        assert instance["status"] not in ("error",), instance["incidents"]
        return instance

    def do(
        self, user: str, instance_id: int, element_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        return self.complete(user, self.task(user, instance_id, element_id), data)

    def message(
        self, user: str, instance_id: int, name: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        r = self.post(user, f"/process-instances/{instance_id}/messages/{name}", {"data": payload})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    # --- documents ------------------------------------------------------------------------

    def documents(self, user: str, instance_id: int) -> list[dict[str, Any]]:
        return self.instance(user, instance_id)["documents"]

    def download(self, user: str, instance_id: int, doc_id: int, fmt: str) -> Any:
        return self.get(
            user,
            f"/process-instances/{instance_id}/documents/{doc_id}",
            query_string={"format": fmt},
        )

    def check_downloads(self, user: str, instance_id: int, doc: dict[str, Any]) -> str:
        """Downloads the document as Markdown and as Word; returns the Markdown."""
        md = self.download(user, instance_id, doc["id"], "md")
        assert md.status_code == 200
        assert md.mimetype == "text/markdown"
        assert "attachment" in md.headers["Content-Disposition"]
        text = md.get_data(as_text=True)
        assert text.startswith("# 《")
        docx = self.download(user, instance_id, doc["id"], "docx")
        assert docx.status_code == 200
        assert docx.mimetype.endswith("wordprocessingml.document")
        word = Document(io.BytesIO(docx.get_data()))
        assert word.paragraphs[0].text == text.splitlines()[0].lstrip("# ")
        assert word.tables, "the documents all have tables"
        return text


@dataclass
class ColdContext(EngineContext):
    """A scenario context in cold mode (tests/scenarios/conftest.py): every action runs in a
    renewed context, as in a freshly started process."""


def cold_copy(ctx: EngineContext) -> ColdContext:
    return ColdContext(**{name: getattr(ctx, name) for name in ctx.__dataclass_fields__})


def renewed_if_cold(ctx: EngineContext) -> EngineContext:
    return renewed(ctx) if isinstance(ctx, ColdContext) else ctx


def fire_timers(ctx: EngineContext) -> TickReport:
    report = process_due(renewed_if_cold(ctx))
    assert not report.failed, report.failed
    return report


def who_has(api: Api, users: list[str], instance_id: int, element_id: str) -> list[str]:
    """Which of `users` see the open task `element_id` in their inbox."""
    return [u for u in users if api.tasks(u, instance_id, element_id)]
