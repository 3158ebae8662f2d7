"""What a deployed version's files say, read for the pages: its BPMN file (the instance page's
diagram), the tag that names its files (the diagram's ETag) and its elements' names (the
instance page's timeline, the dashboard's timers). A version's files never change once
deployed, so what is derived from them is kept by its tag."""

from __future__ import annotations

from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.tables import ProcessVersionRecord, VersionFileRecord


def version_bpmn(session: Session, version_id: int) -> tuple[str, str] | None:
    """(file name, XML) of the version's BPMN file."""
    version = session.get(ProcessVersionRecord, version_id)
    if version is None:
        return None
    content = session.scalar(
        select(VersionFileRecord.content).where(
            VersionFileRecord.version_id == version_id,
            VersionFileRecord.name == version.bpmn_file,
        )
    )
    return (version.bpmn_file, content) if content is not None else None


def version_tag(session: Session, version_id: int) -> str | None:
    """What names a version's files (their content hash): the same tag, the same diagram."""
    version = session.get(ProcessVersionRecord, version_id)
    return version.content_hash if version is not None else None


def element_names(
    session: Session, version_id: int, tag: str | None = None
) -> dict[str, str]:
    """Element id -> name from the version's BPMN (for timers, incidents and the timeline).
    Kept by the version's tag (its files' content hash, so the same tag names the same
    elements): an instance page opened again reads the version's row, not its file (142 KB
    for project_initiation) only to name its steps. ``tag``: `version_tag`, when the caller
    has read it (a version row nobody holds leaves the session's map and is read again)."""
    tag = tag or version_tag(session, version_id)
    if tag is None:
        return {}
    with _names_lock:
        known = _names_by_tag.get(tag)
    if known is None:
        found = version_bpmn(session, version_id)
        if found is None:
            return {}
        known = _names(found[1])
        with _names_lock:
            if len(_names_by_tag) >= _NAMES_KEPT:
                _names_by_tag.clear()  # a few dozen versions are in use; rebuilt on demand
            _names_by_tag[tag] = known
    return dict(known)


_NAMES_KEPT = 64
_names_by_tag: dict[str, tuple[tuple[str, str], ...]] = {}
_names_lock = Lock()


def _names(xml: str) -> tuple[tuple[str, str], ...]:
    from engine.bpmn.specs import BPMN_NS, read_xml

    try:
        root = read_xml(xml, "model.bpmn")
    except Exception:
        return ()
    out: dict[str, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        ident, name = el.get("id"), el.get("name")
        if ident and name:
            out[ident] = " ".join(name.split())
    return tuple(out.items())
