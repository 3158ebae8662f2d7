"""The models of `planflow demo` (web/demo.py): deploy the model folder, but never over a
model a person deployed.

Re-running `make up` used to redeploy `bpmn/` over a process owner's change made in the browser
(issue 14). The demo now deploys as DEMO_DEPLOYER and leaves every model whose live version
someone else deployed (browser, upload, `planflow deploy`) as it is, saying so; its own models
get a new version only when the folder's files changed. `planflow deploy` stays the explicit way
to replace a version.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.specs import BPMN_NS, executable_process_ids, kind_of, read_xml
from engine.errors import InvalidModel
from engine.settings import PROJECT_ROOT
from engine.store.db import transaction
from engine.store.tables import ProcessModelRecord, ProcessVersionRecord, UserRecord
from engine.usecases.deploy import DeployResult, Upload, deploy, uploads_from_paths

if TYPE_CHECKING:
    from engine.context import EngineContext

# Who the demo loader deploys as (the versions' 部署人). Not a user name: the demo's own 流程管理员
# is "owner", and what a person deployed must be told apart from what the demo loaded.
DEMO_DEPLOYER = "演示数据"


def model_dir(ctx: EngineContext) -> Path:
    """The configured model folder when it holds diagrams, else the project's `bpmn/`."""
    configured = ctx.settings.bpmn_dir
    if configured.is_dir() and any(configured.glob("*.bpmn")):
        return configured
    return PROJECT_ROOT / "bpmn"


def load_models(ctx: EngineContext) -> Iterator[str]:
    """Deploys the folder's models, except those whose live version a person deployed: loading
    the demo again must not silently revert a process owner's change (issue 14). A model the
    demo loaded itself gets a new version only when its files changed."""
    folder = model_dir(ctx)
    uploads = uploads_from_paths([folder])
    yield f"部署目录 models from: {folder}"
    with transaction(ctx.sessions) as session:
        kept = _deployed_by_people(session, uploads)
        lines = [
            f"流程模型 model: {v.model_key} v{v.version} 由 {_who(session, v.deployed_by)} 部署，"
            "保留不覆盖；如需替换请用 planflow deploy (deployed by a person: kept)"
            for v in kept.values()
        ]
        rest = [u for u in uploads if u.name not in kept]
        results: list[DeployResult] = []
        if any(kind_of(u.name) == "bpmn" for u in rest):
            results = deploy(ctx, session, rest, DEMO_DEPLOYER)
    yield from lines
    for r in results:
        verb = "已部署 deployed" if r.created else "未变化 unchanged"
        yield f"流程模型 model: {r.key} v{r.version} {verb}（{r.name}）"


def _deployed_by_people(session: Session, uploads: list[Upload]) -> dict[str, ProcessVersionRecord]:
    """BPMN file name -> the live version of its model, for the models whose live version was
    not deployed by the demo loader. Files that cannot be read are left to deploy() to refuse."""
    kept: dict[str, ProcessVersionRecord] = {}
    for upload in uploads:
        if kind_of(upload.name) != "bpmn":
            continue
        key = _process_key(upload)
        model = session.get(ProcessModelRecord, key) if key else None
        if model is None:
            continue
        live = session.scalar(
            select(ProcessVersionRecord).where(
                ProcessVersionRecord.model_key == key,
                ProcessVersionRecord.version == model.latest_version,
            )
        )
        if live is not None and live.deployed_by != DEMO_DEPLOYER:
            kept[upload.name] = live
    return kept


def _who(session: Session, username: str | None) -> str:
    if not username:
        return "—"
    name = session.scalar(select(UserRecord.display_name).where(UserRecord.username == username))
    return f"{name}（{username}）" if name else username


def _process_key(upload: Upload) -> str | None:
    """The model key of a BPMN file: its one executable process that no call activity calls."""
    try:
        root = read_xml(upload.content, upload.name)
    except InvalidModel:  # deploy() refuses the file with the same message
        return None
    called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    ids = [i for i in executable_process_ids(root) if i not in called]
    return ids[0] if len(ids) == 1 else None
