"""Markdown (the subset the document templates produce) → .docx with python-docx.

Handles ATX headings, paragraphs (consecutive lines become line breaks), bullet and numbered
lists, pipe tables, block quotes, horizontal rules, **bold**, *italic* and `code` spans, and
backslash escapes (`\\|` inside table cells). Anything else is kept as plain text: a stored
document always converts, whatever a template or a user typed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph

CJK_FONT = "微软雅黑"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")
_INLINE = re.compile(r"(\*\*.+?\*\*|`[^`]+`|(?<![\w*])\*[^*\s][^*]*?\*(?![\w*]))")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")


def markdown_to_docx(markdown: str, title: str | None = None) -> bytes:
    """The Markdown as a Word document (bytes of a .docx file)."""
    document = Document()
    _set_fonts(document)
    if title:
        document.core_properties.title = title[:255]
    document.core_properties.author = "planflow"
    lines = (markdown or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    paragraph_lines: list[str] = []

    def flush_paragraph() -> None:
        if paragraph_lines:
            paragraph = document.add_paragraph()
            for n, line in enumerate(paragraph_lines):
                if n:
                    paragraph.add_run().add_break()
                _add_inline(paragraph, line.strip())
            paragraph_lines.clear()

    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            flush_paragraph()
            index += 1
            continue
        heading = _HEADING.match(stripped)
        if heading:
            flush_paragraph()
            level = len(heading.group(1))
            paragraph = document.add_heading(level=0 if level == 1 else min(level - 1, 9))
            _add_inline(paragraph, heading.group(2))
            index += 1
            continue
        if stripped.startswith("|") and _is_table_start(lines, index):
            flush_paragraph()
            rows, index = _collect_table(lines, index)
            _add_table(document, rows)
            continue
        if _RULE.match(stripped):
            flush_paragraph()
            document.add_paragraph()
            index += 1
            continue
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if bullet or numbered:
            flush_paragraph()
            match = bullet or numbered
            assert match is not None
            style = "List Bullet" if bullet else "List Number"
            _add_inline(document.add_paragraph(style=style), match.group(1).strip())
            index += 1
            continue
        if stripped.startswith(">"):
            flush_paragraph()
            quote = document.add_paragraph(style="Quote")
            _add_inline(quote, stripped.lstrip(">").strip())
            index += 1
            continue
        paragraph_lines.append(line)
        index += 1
    flush_paragraph()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_fonts(document: DocumentObject) -> None:
    """Chinese text needs an East Asian font on every style we use (Word's default is Latin)."""
    headings = [f"Heading {n}" for n in range(1, 6)]
    for name in ["Normal", "Title", "Quote", "List Bullet", "List Number", "Table Grid", *headings]:
        try:
            style = document.styles[name]
        except KeyError:
            continue
        element = style.element
        rpr = element.get_or_add_rPr()
        fonts = rpr.get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), CJK_FONT)
    document.styles["Normal"].font.size = Pt(10.5)


def _is_table_start(lines: list[str], index: int) -> bool:
    return index + 1 < len(lines) and bool(_TABLE_SEPARATOR.match(lines[index + 1].strip()))


def _collect_table(lines: list[str], index: int) -> tuple[list[list[str]], int]:
    rows = [_split_row(lines[index])]
    index += 2  # header and separator
    while index < len(lines) and lines[index].strip().startswith("|"):
        rows.append(_split_row(lines[index]))
        index += 1
    return rows, index


def _split_row(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    cells: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    cells.append("".join(current).strip())
    return cells


def _add_table(document: DocumentObject, rows: list[list[str]]) -> None:
    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c in range(width):
            cell = table.cell(r, c)
            value = row[c] if c < len(row) else ""
            parts = re.split(r"<br\s*/?>", value)
            paragraph = cell.paragraphs[0]
            for n, part in enumerate(parts):
                if n:
                    paragraph.add_run().add_break()
                _add_inline(paragraph, part.strip(), bold=r == 0)
    document.add_paragraph()


def _add_inline(paragraph: Paragraph, text: str, bold: bool = False) -> None:
    for token, kind in _tokens(text):
        if not token:
            continue
        run = paragraph.add_run(_unescape(token))
        if bold or kind == "bold":
            run.bold = True
        if kind == "italic":
            run.italic = True
        if kind == "code":
            run.font.name = "Consolas"


def _tokens(text: str) -> Iterable[tuple[str, str]]:
    position = 0
    for match in _INLINE.finditer(text):
        if _is_escaped(text, match.start()):
            continue
        yield text[position : match.start()], "plain"
        token = match.group(0)
        if token.startswith("**"):
            yield token[2:-2], "bold"
        elif token.startswith("`"):
            yield token[1:-1], "code"
        else:
            yield token[1:-1], "italic"
        position = match.end()
    yield text[position:], "plain"


def _is_escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index > 0 and text[index - 1] == "\\":
        backslashes += 1
        index -= 1
    return backslashes % 2 == 1


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text)
