"""Download of a generated document from the UI: `/instances/<id>/documents/<doc_id>`
(`?format=docx` for Word; Markdown by default). Same visibility as the instance page."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from engine.errors import InvalidInput
from engine.read.documents import visible_document
from web.api.documents import document_response, requested_format
from web.core import unit_of_work
from web.errors import error_page
from web.pages import bp
from web.pages.common import manage_page
from web.session_auth import current_actor

# CommonMark with tables; raw HTML in a document (it may carry what someone typed into a form)
# is shown as text, and markdown-it refuses javascript: links.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


@bp.app_template_filter("markdown")
def markdown_html(text: str | None) -> Markup:
    """A generated document, rendered for reading on a page."""
    return Markup(_MARKDOWN.render(text or ""))  # escaped by markdown-it (html off)


@bp.get("/instances/<int:instance_id>/documents/<int:doc_id>")
@manage_page()
def instance_document(instance_id: int, doc_id: int) -> Any:
    actor = current_actor()
    assert actor is not None  # manage_page requires a login
    try:
        fmt = requested_format()
    except InvalidInput as exc:
        return error_page(400, exc.message)
    with unit_of_work() as session:
        document = visible_document(session, actor, instance_id, doc_id)
    return document_response(document, fmt)
