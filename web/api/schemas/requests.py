"""What /api/v1 accepts: JSON bodies, query strings and the model upload.

Bodies are parsed by `web.strict_input` (no NaN, no lone surrogate, bounded nesting) and then
validated here. Unknown body fields are ignored, as they always were; `null` for an optional
text means "not given". Query strings: an empty value means "not given" (`?status=`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from werkzeug.datastructures import FileStorage

from engine.operations import SIGNER_MODES
from engine.usecases.deploy import Upload
from web.api.schemas.responses import INSTANCE_STATUSES


def _none_is_empty(value: Any) -> Any:
    return "" if value is None else value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _none_is_empty_object(value: Any) -> Any:
    return {} if value is None else value


def _one_is_a_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _iso_time(value: Any) -> Any:
    """ISO 8601 text (`datetime.fromisoformat`); "" and null mean none. Not a number: pydantic
    would take one as a Unix time."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_format", "must be an ISO 8601 time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("datetime_format", "must be an ISO 8601 time") from None


# Optional text: absent, null and "" are all "".
Text = Annotated[str, BeforeValidator(_none_is_empty)]
# Required text: present and not blank.
Required = Annotated[
    str,
    BeforeValidator(_none_is_empty),
    AfterValidator(_not_blank),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": r"\S"}),
]
# Instance or form data: a JSON object (absent or null: none).
Data = Annotated[
    dict[str, Any],
    BeforeValidator(_none_is_empty_object),
    Field(description="instance variables / form fields"),
]
Usernames = Annotated[
    list[str],
    BeforeValidator(_one_is_a_list),
    Field(description="usernames (one name alone is taken too)"),
]
Time = Annotated[
    AwareDatetime | None,
    BeforeValidator(_iso_time),
    Field(description="ISO 8601 with a timezone offset, e.g. 2026-03-02T09:00+08:00"),
]
PositiveId = Annotated[StrictInt, Field(gt=0)]


# --- bodies -------------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    username: str
    password: str


class StartInstance(BaseModel):
    process: Required = Field(description="process model key")
    data: Data = {}


class DataBody(BaseModel):
    """Instance variables or a task's form data."""

    data: Data = {}


class NoFields(BaseModel):
    """Nothing to send (an empty object or no body)."""


class Terminate(BaseModel):
    reason: Required = Field(description="why (kept in the audit log, at most 2000 characters)")


class Handover(BaseModel):
    """转办 / 委派: to whom."""

    to: Required = Field(description="username")
    comment: Text = ""


class Resolve(BaseModel):
    data: Data = {}
    comment: Text = ""


class AddSigners(BaseModel):
    users: Usernames
    mode: Literal[SIGNER_MODES] = Field(
        description="before: sign first; after: sign after the handler submits; "
        "parallel: countersign, all must approve"
    )
    comment: Text = ""


class Comment(BaseModel):
    comment: Text = ""


class Sign(BaseModel):
    decision: Literal["approve", "reject"]
    comment: Text = Field("", description="required to reject")


class ReturnTo(BaseModel):
    target: Required = Field(description="element id of an earlier step (see return-targets)")
    reason: Required


class Reason(BaseModel):
    reason: Text = ""


class Remind(BaseModel):
    message: Text = ""


class CopyTo(BaseModel):
    users: Usernames
    note: Text = ""


class MarkAway(BaseModel):
    username: Text = Field("", description="default: the caller")
    starts_at: Time = Field(None, description="default: now")
    ends_at: Time = Field(None, description="default: until marked back")
    deputy: Text = Field("", description="default: the B角 of each task")
    reason: Text = ""


class MarkBack(BaseModel):
    username: Text = Field("", description="default: the caller")


class MarkRead(BaseModel):
    ids: list[PositiveId] | None = Field(None, description="default: all of the caller's")


def _upload(value: Any) -> Any:
    if isinstance(value, FileStorage):
        return Upload(value.filename or value.name or "upload", value.read())
    return value


class DeployFiles(BaseModel):
    """multipart/form-data: BPMN, DMN and form files, as field `files` (parts of any other name
    are taken too)."""

    files: list[
        Annotated[
            Upload,
            BeforeValidator(_upload),
            WithJsonSchema({"type": "string", "format": "binary"}),
        ]
    ] = Field(min_length=1)


# --- query strings ------------------------------------------------------------------------------

PageNumber = Annotated[int, Field(ge=1, le=10_000)]
PerPage = Annotated[int, Field(ge=1, le=200)]


class InstanceQuery(BaseModel):
    status: Literal[INSTANCE_STATUSES] | None = None
    process: str | None = None
    started_by: str | None = None
    page: PageNumber = 1
    per_page: PerPage = 50


class TaskQuery(BaseModel):
    status: Literal["open", "completed"] = "open"
    process: str | None = None
    page: PageNumber = 1
    per_page: PerPage = 50


class InboxQuery(BaseModel):
    unread: str = Field("", description="1 or true: unread ones only")
    page: PageNumber = 1
    per_page: PerPage = 20

    @property
    def unread_only(self) -> bool:
        return self.unread in ("1", "true")


class AbsenceQuery(BaseModel):
    username: str | None = Field(None, description="managers: whose (default: everyone's)")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class DocumentQuery(BaseModel):
    format: Annotated[Literal["md", "docx"], BeforeValidator(_lower)] = "md"
