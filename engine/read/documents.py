"""A generated document of an instance (《项目立项书》 …), for whoever may see the instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine.access import instance_for
from engine.errors import NotFound
from engine.store.tables import DocumentRecord

if TYPE_CHECKING:
    from engine.people.accounts import Actor


@dataclass(frozen=True)
class DocumentFile:
    id: int
    instance_id: int
    doc_type: str
    title: str
    content_md: str


def visible_document(session: Session, actor: Actor, instance_id: int, doc_id: int) -> DocumentFile:
    """The document if it belongs to the instance and the actor may see the instance
    (`engine.access`)."""
    instance_for(session, actor, "view", instance_id)
    document = session.get(DocumentRecord, doc_id)
    if document is None or document.instance_id != instance_id:
        raise NotFound(
            f"文档 {doc_id} 不存在 (document not found)",
            {"instance_id": instance_id, "document_id": doc_id},
        )
    return DocumentFile(
        document.id, document.instance_id, document.doc_type, document.title, document.content_md
    )
