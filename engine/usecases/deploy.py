"""Deploying process models: validate everything, then store a new version only when the
content changed. A refused upload stores nothing, so the previous version stays live."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.problems import Said, refusal
from engine.bpmn.specs import (
    DMN_NAMESPACES,
    ParsedModel,
    SourceFile,
    kind_of,
    parse_model,
    read_dmn,
    read_xml,
)
from engine.bpmn.validate import check_flow_conditions, validate_model
from engine.errors import InvalidModel
from engine.store.instance_state import audit
from engine.store.tables import (
    GroupRecord,
    ProcessModelRecord,
    ProcessVersionRecord,
    VersionFileRecord,
)

if TYPE_CHECKING:
    from engine.context import EngineContext


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


@dataclass(frozen=True)
class DeployResult:
    key: str
    name: str
    version: int
    created: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "version": self.version,
            "created": self.created,
        }


def uploads_from_paths(paths: Iterable[Path]) -> list[Upload]:
    out: list[Upload] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for f in candidates:
            if f.is_file() and kind_of(f.name):
                # Forms are referenced by bare file name, so keep names flat.
                out.append(Upload(f.name, f.read_bytes()))
    return out


def deploy(
    ctx: EngineContext, session: Session, uploads: list[Upload], actor: str | None
) -> list[DeployResult]:
    files = _decode(ctx, uploads)
    bpmn_names = [f.name for f in files.values() if f.kind == "bpmn"]
    if not bpmn_names:
        said = Said("上传的文件中没有流程图（.bpmn 文件）", "no .bpmn file in the upload")
        raise refusal(None, said, "no_bpmn")
    groups = set(session.scalars(select(GroupRecord.name))) | set(
        session.scalars(select(GroupRecord.display_name))
    )
    prepared: list[tuple[ParsedModel, dict[str, SourceFile]]] = []
    problems = []
    for name in bpmn_names:
        model_files = _files_for(session, name, files)
        model = parse_model(name, model_files)
        problems.extend(validate_model(model, groups, ctx.handlers, _decision_files(model_files)))
        problems.extend(check_flow_conditions(read_xml(files[name].content, name), name))
        prepared.append((model, _referenced(model, model_files)))
    if problems:
        raise InvalidModel(
            "模型校验未通过：" + "；".join(str(p) for p in problems[:20]),
            {"problems": [p.as_dict() for p in problems]},
        )
    keys = [m.key for m, _ in prepared]
    if len(set(keys)) != len(keys):
        raise refusal(None, Said(
            f"多个流程图文件定义了同一个流程：{'、'.join(sorted(set(keys)))}",
            f"duplicate process ids: {keys}",
        ), "duplicate_process")
    return [_store(ctx, session, model, model_files, actor) for model, model_files in prepared]


def _decision_files(files: dict[str, SourceFile]) -> dict[str, str]:
    """Decision table id -> the DMN file defining it (deploy problems name the file)."""
    out: dict[str, str] = {}
    for f in files.values():
        if f.kind != "dmn":
            continue
        root = read_dmn(f)
        for ns in DMN_NAMESPACES:
            for table in root.iter(f"{{{ns}}}decisionTable"):
                if table.get("id"):
                    out.setdefault(table.get("id"), f.name)
    return out


def _decode(ctx: EngineContext, uploads: list[Upload]) -> dict[str, SourceFile]:
    files: dict[str, SourceFile] = {}
    for up in uploads:
        name = Path(up.name).name
        kind = kind_of(name)
        if kind is None:
            raise refusal(name, Said(
                "不支持的文件类型：只能上传 .bpmn、.dmn 或 .form 文件",
                "unsupported file type (expected .bpmn, .dmn or .form)",
            ), "file_type")
        if len(up.content) > ctx.settings.max_model_bytes:
            limit = ctx.settings.max_model_bytes // 1024
            raise refusal(name, Said(
                f"文件过大：上限为 {limit} KiB", f"file larger than {limit} KiB"
            ), "too_large")
        try:
            text = up.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise refusal(name, Said(
                "文件不是 UTF-8 编码，请另存为 UTF-8 后再上传", "not UTF-8"
            ), "encoding") from exc
        files[name] = SourceFile(name, kind, text)
    return files


def _files_for(
    session: Session, bpmn_name: str, uploaded: dict[str, SourceFile]
) -> dict[str, SourceFile]:
    """The upload plus, for what it does not include, the files of the model's latest version
    (so a diagram edited in the modeler keeps its forms and decision tables)."""
    out = {n: f for n, f in uploaded.items() if f.kind != "bpmn" or n == bpmn_name}
    latest = session.scalar(
        select(ProcessVersionRecord)
        .where(ProcessVersionRecord.bpmn_file == bpmn_name)
        .order_by(ProcessVersionRecord.id.desc())
        .limit(1)
    )
    if latest is not None:
        for f in latest.files:
            if f.kind != "bpmn" and f.name not in out:
                out[f.name] = SourceFile(f.name, f.kind, f.content)
    return out


def _referenced(model: ParsedModel, files: dict[str, SourceFile]) -> dict[str, SourceFile]:
    wanted = {s.form_file for s in model.steps.values() if s.form_file}
    if model.start_form:
        wanted.add(model.start_form)
    return {
        n: f
        for n, f in files.items()
        if f.kind == "dmn" or n == model.bpmn_file or (f.kind == "form" and n in wanted)
    }


def content_hash(files: dict[str, SourceFile]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].content.encode() + b"\0")
    return h.hexdigest()


def _store(
    ctx: EngineContext,
    session: Session,
    model: ParsedModel,
    files: dict[str, SourceFile],
    actor: str | None,
) -> DeployResult:
    now = ctx.clock.now()
    digest = content_hash(files)
    record = session.get(ProcessModelRecord, model.key)
    if record is not None:
        latest = session.scalar(
            select(ProcessVersionRecord).where(
                ProcessVersionRecord.model_key == model.key,
                ProcessVersionRecord.version == record.latest_version,
            )
        )
        if latest is not None and latest.content_hash == digest:
            return DeployResult(model.key, record.name, record.latest_version, created=False)
        record.latest_version += 1
        record.name = model.name
        record.updated_at = now
    else:
        record = ProcessModelRecord(
            key=model.key, name=model.name, latest_version=1, created_at=now, updated_at=now
        )
        session.add(record)
    version = ProcessVersionRecord(
        model_key=model.key,
        version=record.latest_version,
        name=model.name,
        bpmn_file=model.bpmn_file,
        content_hash=digest,
        deployed_by=actor,
        created_at=now,
        files=[
            VersionFileRecord(name=f.name, kind=f.kind, content=f.content) for f in files.values()
        ],
    )
    session.add(version)
    session.flush()
    # Not put into the spec cache here: if this transaction rolls back, the id may be reused.
    audit(
        session,
        now,
        "deployed",
        actor=actor,
        details={"model": model.key, "version": version.version, "hash": digest},
    )
    return DeployResult(model.key, model.name, version.version, created=True)
