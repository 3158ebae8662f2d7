"""Generated documents (《项目立项书》 …) as Markdown or Word files.

`GET /api/v1/process-instances/<id>/documents/<doc_id>?format=md|docx` — visible to whoever may
see the instance (`engine.access`, through `engine.read.documents`). The UI page route
(`web/pages/documents.py`) uses the same lookup and response.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from engine.read.documents import DocumentFile, visible_document
from handlers.documents import document_file_name, markdown_to_docx
from web.api.endpoint import Call, Media, endpoint, query_fields, validated
from web.api.schemas.requests import DocumentQuery

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def requested_format() -> str:
    """`?format=md|docx` of the page route (the API's is its declared query)."""
    query: DocumentQuery = validated(DocumentQuery, query_fields(), "query")
    return query.format


def document_response(document: DocumentFile, fmt: str) -> Response:
    if fmt == "docx":
        body = markdown_to_docx(document.content_md, document.title)
        mimetype = DOCX_MIME
    else:
        body = document.content_md.encode("utf-8")
        mimetype = "text/markdown; charset=utf-8"
    name = document_file_name(document.title, fmt)
    response = Response(body, mimetype=mimetype)
    # RFC 6266: an ASCII fallback plus the UTF-8 name (Chinese titles).
    fallback = f"document-{document.id}.{fmt}"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@endpoint(
    "GET",
    "/process-instances/<int:instance_id>/documents/<int:doc_id>",
    summary="Download a generated document (Markdown or .docx)",
    query=DocumentQuery,
    ok=Media(
        {"text/markdown": {"type": "string"}, DOCX_MIME: {"type": "string", "format": "binary"}},
        "The document",
    ),
    errors=(403, 404),
)
def get_document(call: Call, instance_id: int, doc_id: int, query: DocumentQuery) -> Response:
    document = visible_document(call.session, call.actor, instance_id, doc_id)
    return document_response(document, query.format)
