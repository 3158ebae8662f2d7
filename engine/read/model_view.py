"""流程模型 pages: versions, their files, diffs between versions, and deploys from the editors.

The editors (bpmn-js modeler, form-js editor, dmn-js) each send one edited file. A new version is
always the latest version's files with that one file replaced, deployed through
`engine.usecases.deploy.deploy`, so it is validated exactly like an upload.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn.problems import Said, refusal
from engine.bpmn.specs import kind_of
from engine.errors import NotFound
from engine.store.tables import (
    InstanceRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
    VersionFileRecord,
)
from engine.usecases.deploy import DeployResult, Upload, deploy

if TYPE_CHECKING:
    from engine.context import EngineContext

MAX_DIFF_LINES = 5000


@dataclass(frozen=True)
class DiffLine:
    kind: str  # header | hunk | add | del | same
    text: str


def list_models(session: Session) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(ProcessVersionRecord.model_key, func.count()).group_by(
                ProcessVersionRecord.model_key
            )
        ).all()
    )
    latest = {
        v.model_key: v
        for v in session.scalars(
            select(ProcessVersionRecord).join(
                ProcessModelRecord,
                (ProcessModelRecord.key == ProcessVersionRecord.model_key)
                & (ProcessModelRecord.latest_version == ProcessVersionRecord.version),
            )
        )
    }
    out = []
    for m in session.scalars(select(ProcessModelRecord).order_by(ProcessModelRecord.key)):
        v = latest.get(m.key)
        out.append(
            {
                "key": m.key,
                "name": m.name,
                "latest_version": m.latest_version,
                "versions": counts.get(m.key, 0),
                "updated_at": m.updated_at,
                "deployed_by": v.deployed_by if v else None,
                "files": [f.name for f in v.files] if v else [],
            }
        )
    return out


def model_summaries(session: Session) -> list[dict[str, Any]]:
    """The deployed models as the API lists them (everyone may: to start one)."""
    return [
        {
            "key": m["key"],
            "name": m["name"],
            "latest_version": m["latest_version"],
            "updated_at": m["updated_at"].isoformat() if m["updated_at"] else None,
        }
        for m in list_models(session)
    ]


def model_detail(session: Session, key: str) -> dict[str, Any]:
    """A model with its versions, newest first, as the API shows it."""
    record = get_model(session, key)
    return {
        "key": record.key,
        "name": record.name,
        "latest_version": record.latest_version,
        "versions": [
            {
                "version": v.version,
                "hash": v.content_hash,
                "deployed_by": v.deployed_by,
                "created_at": v.created_at.isoformat() if v.created_at else None,
                "files": [f.name for f in v.files],
            }
            for v in versions(session, key)
        ],
    }


def get_model(session: Session, key: str) -> ProcessModelRecord:
    record = session.get(ProcessModelRecord, key)
    if record is None:
        raise NotFound(f"流程模型 {key} 不存在 (process model not found)", {"key": key})
    return record


def versions(session: Session, key: str) -> list[ProcessVersionRecord]:
    return list(
        session.scalars(
            select(ProcessVersionRecord)
            .where(ProcessVersionRecord.model_key == key)
            .order_by(ProcessVersionRecord.version.desc())
        )
    )


def instance_counts(session: Session, key: str) -> dict[int, int]:
    """Instances per version number (ix_instances_status_model narrows to the model)."""
    return dict(
        session.execute(
            select(InstanceRecord.version_number, func.count())
            .where(InstanceRecord.model_key == key)
            .group_by(InstanceRecord.version_number)
        ).all()
    )


def get_version(session: Session, key: str, version: int | None = None) -> ProcessVersionRecord:
    if version is None:
        version = get_model(session, key).latest_version
    record = session.scalar(
        select(ProcessVersionRecord).where(
            ProcessVersionRecord.model_key == key, ProcessVersionRecord.version == version
        )
    )
    if record is None:
        raise NotFound(f"{key} v{version} 不存在 (version not found)", {"key": key})
    return record


def get_file(version: ProcessVersionRecord, name: str) -> VersionFileRecord:
    for f in version.files:
        if f.name == name:
            return f
    raise NotFound(f"{name} 不在该版本中 (file not in version)", {"file": name})


def diff(session: Session, key: str, old: int, new: int, name: str) -> tuple[list[DiffLine], bool]:
    """Unified diff of one file between two versions (a file missing on one side is empty).
    Returns the lines and whether they were cut at MAX_DIFF_LINES."""
    a, b = get_version(session, key, old), get_version(session, key, new)
    a_text = next((f.content for f in a.files if f.name == name), None)
    b_text = next((f.content for f in b.files if f.name == name), None)
    if a_text is None and b_text is None:
        raise NotFound(f"{name} 不在这两个版本中 (file in neither version)", {"file": name})
    lines = difflib.unified_diff(
        (a_text or "").splitlines(),
        (b_text or "").splitlines(),
        fromfile=f"v{old}/{name}",
        tofile=f"v{new}/{name}",
        lineterm="",
        n=3,
    )
    out: list[DiffLine] = []
    for line in lines:
        if len(out) >= MAX_DIFF_LINES:
            return out, True
        if line.startswith(("---", "+++")):
            kind = "header"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out, False


def file_names(session: Session, key: str) -> list[str]:
    """Every file name that occurs in any version of the model (for the diff picker)."""
    return sorted(
        set(
            session.scalars(
                select(VersionFileRecord.name)
                .join(ProcessVersionRecord, ProcessVersionRecord.id == VersionFileRecord.version_id)
                .where(ProcessVersionRecord.model_key == key)
            )
        )
    )


def deploy_edit(
    ctx: EngineContext, session: Session, key: str, name: str, content: str, actor: str
) -> DeployResult:
    """Deploy the latest version of `key` with file `name` replaced by `content`.

    Raises InvalidModel (nothing stored) when the result does not validate, or when the edited
    diagram no longer defines process `key` (that would deploy a different model).
    """
    latest = get_version(session, key)
    bpmn = get_file(latest, latest.bpmn_file)
    if name == latest.bpmn_file:
        uploads = [Upload(name, content.encode("utf-8"))]
    else:
        existing = next((f for f in latest.files if f.name == name), None)
        if existing is None or kind_of(name) not in ("form", "dmn"):
            raise NotFound(f"{name} 不在该版本中 (file not in version)", {"file": name})
        uploads = [
            Upload(bpmn.name, bpmn.content.encode("utf-8")),
            Upload(name, content.encode("utf-8")),
        ]
    results = deploy(ctx, session, uploads, actor)
    for result in results:
        if result.key == key:
            return result
    raise refusal(name, Said(
        f"流程的 id 不能修改：应为 {key}。要建新流程，请在“流程模型”页面上传",
        f"the process id must stay {key}",
    ), "process_id_changed")
