"""A version's element names are kept by its tag: read from its file once, right for each
version (a redeployed model with a renamed step names it anew)."""

from __future__ import annotations

from sqlalchemy import select

from engine.context import EngineContext
from engine.read.version_files import element_names, version_tag
from engine.store.db import transaction
from engine.store.tables import ProcessVersionRecord
from engine.usecases.deploy import Upload, deploy, uploads_from_paths
from tests.conftest import MODELS
from tests.sql_log import statements_run


def _versions(ctx: EngineContext) -> list[int]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(ProcessVersionRecord.id).order_by(ProcessVersionRecord.id)))


def _redeploy_renamed(ctx: EngineContext, old: str, new: str) -> None:
    uploads = [
        Upload(u.name, u.content.replace(old.encode(), new.encode()))
        if u.name.endswith(".bpmn") else u
        for u in uploads_from_paths([MODELS])
    ]
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads, "owner")


def test_names_are_read_once_per_tag_and_right_for_each_version(ctx: EngineContext) -> None:
    with transaction(ctx.sessions) as s:
        deploy(ctx, s, uploads_from_paths([MODELS]), "owner")
    _redeploy_renamed(ctx, 'name="经理审批"', 'name="部门经理审批"')
    first, second = _versions(ctx)
    rounds: list[list[str]] = []
    for _ in range(2):
        with statements_run(ctx.db) as seen, transaction(ctx.sessions) as s:
            assert element_names(s, first)["review"] == "经理审批"
            assert element_names(s, second)["review"] == "部门经理审批"
            assert element_names(s, first)["submit"] == "提交说明"
            assert version_tag(s, first) != version_tag(s, second)
            assert element_names(s, 10_000) == {}  # no such version
        rounds.append(seen)
    files = [[x for x in seen if " FROM version_files" in x] for seen in rounds]
    # the first round reads each version's file at most once (another test may have left the
    # same tag's names), the second, in a new session, reads none
    assert len(files[0]) <= 2 and files[1] == [], files
    assert any(" FROM process_versions" in x for x in rounds[1]), rounds  # the counter counts
