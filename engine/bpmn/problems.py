"""What a refused deploy says about one element: the file, the element (id and name) and what
is wrong, in Chinese (what the department reads) and in English (the UI's second language)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.errors import InvalidModel


class Said(NamedTuple):
    """One message in both languages."""

    zh: str
    en: str


@dataclass(frozen=True)
class Problem:
    file: str
    element_id: str | None
    message: str  # Chinese
    message_en: str = ""
    element_name: str | None = None

    @classmethod
    def of(
        cls, file: str, element_id: str | None, said: Said, element_name: str | None = None
    ) -> Problem:
        return cls(file, element_id, said.zh, said.en, element_name or None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "message": self.message,
            "message_en": self.message_en or self.message,
        }

    def __str__(self) -> str:
        where = f" {element_label(self.element_id, self.element_name)}" if self.element_id else ""
        return f"{self.file}{where}：{self.message}"


def element_label(element_id: str | None, name: str | None) -> str:
    """「名称」(id), or the id alone when the element has no name."""
    if not element_id:
        return f"「{name}」" if name else ""
    return f"「{name}」({element_id})" if name else element_id


def refusal(
    file: str | None,
    said: Said,
    code: str,
    element_id: str | None = None,
    element_name: str | None = None,
    **details: Any,
) -> InvalidModel:
    """One problem that stops a deploy at once (not XML, wrong root, ...) as an InvalidModel:
    the message in Chinese, ``details`` with the code, the English and the problem list."""
    problem = Problem.of(file or "", element_id, said, element_name)
    message = str(problem) if file else said.zh
    return InvalidModel(
        message,
        {
            "file": file,
            "element_id": element_id,
            "problem": code,
            "message_en": said.en,
            "problems": [problem.as_dict()],
            **details,
        },
    )
