"""Read side of 发起流程: the startable models, a model's start page (its start form and
instructions) and the start form the server validates against."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.specs import ParsedModel, all_task_specs
from engine.errors import NotFound
from engine.store import instance_state as store
from engine.store.tables import ProcessModelRecord, ProcessVersionRecord

if TYPE_CHECKING:
    from engine.context import EngineContext
    from engine.forms import FormSchema


def _start_instructions(model: ParsedModel) -> str | None:
    top_level = {id(t) for t in model.spec.task_specs.values()}
    for spec in all_task_specs(model):
        if id(spec) not in top_level or getattr(spec, "bpmn_id", None) is None:
            continue
        if isinstance(spec, StartEvent):
            ext = getattr(spec, "extensions", {}) or {}
            text = ext.get("instructionsForEndUser")
            if text:
                return str(text)
    return None


def startable(ctx: EngineContext, session: Session) -> list[dict[str, Any]]:
    """发起流程: every deployed model (any active user may start any model), by name."""
    rows = session.execute(
        select(ProcessModelRecord, ProcessVersionRecord.id)
        .join(
            ProcessVersionRecord,
            (ProcessVersionRecord.model_key == ProcessModelRecord.key)
            & (ProcessVersionRecord.version == ProcessModelRecord.latest_version),
        )
        .order_by(ProcessModelRecord.name, ProcessModelRecord.key)
    ).all()
    out = []
    for record, version_id in rows:
        try:
            model = store.parsed_model(ctx, session, version_id)
            instructions = _start_instructions(model)
            has_form = bool(model.start_form and model.start_form in model.forms)
        except Exception:  # a broken stored version must not take the catalogue down
            instructions, has_form = None, False
        out.append(
            {
                "key": record.key,
                "name": record.name or record.key,
                "version": record.latest_version,
                "updated_at": record.updated_at,
                "instructions": instructions,
                "has_form": has_form,
            }
        )
    return out


def start_view(ctx: EngineContext, session: Session, key: str) -> dict[str, Any]:
    record = session.get(ProcessModelRecord, key)
    if record is None:
        raise NotFound(f"流程模型 {key} 不存在 (process model not found)", {"process": key})
    version_id = session.scalar(
        select(ProcessVersionRecord.id).where(
            ProcessVersionRecord.model_key == key,
            ProcessVersionRecord.version == record.latest_version,
        )
    )
    if version_id is None:
        raise NotFound(f"流程模型 {key} 没有版本 (no version)", {"process": key})
    model = store.parsed_model(ctx, session, version_id)
    form = model.forms.get(model.start_form) if model.start_form else None
    return {
        "key": record.key,
        "name": record.name or record.key,
        "version": record.latest_version,
        "instructions": _start_instructions(model),
        "form": form.raw if form else None,
    }


def start_form_for(ctx: EngineContext, session: Session, key: str) -> FormSchema | None:
    record = session.get(ProcessModelRecord, key)
    if record is None:
        return None
    version_id = session.scalar(
        select(ProcessVersionRecord.id).where(
            ProcessVersionRecord.model_key == key,
            ProcessVersionRecord.version == record.latest_version,
        )
    )
    if version_id is None:
        return None
    model = store.parsed_model(ctx, session, version_id)
    return model.forms.get(model.start_form) if model.start_form else None
