"""What a submission may hold: the shape of instance data every channel sends (`check_data`)
and a form's own validation of it (`validated_form_data`, field errors as `field_problem`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.errors import FormInvalid, InvalidInput
from engine.forms import FieldError, has_person_fields, validate_submission
from engine.people.directory import roster

if TYPE_CHECKING:
    from engine.bpmn.specs import ParsedModel

MAX_DATA_BYTES = 256 * 1024


def validated_form_data(
    model: ParsedModel,
    form_file: str | None,
    data: dict[str, Any],
    current: dict[str, Any] | None = None,
    *,
    session: Session,
) -> dict[str, Any]:
    """Form-validated data to merge into the process. Read-only fields keep the process's
    value, and a field the caller did not send does not wipe a value the process already has
    (a pre-filled field, an API client sending only what it changes). A person field (A角,
    B角, …) must name an active user its form allows (`engine.forms.people`): else it is a
    field error, before anything is written — never a task assigned to nobody."""
    form = model.forms.get(form_file) if form_file else None
    if form is None:
        return dict(data)
    current = dict(current or {})
    people = roster(session) if has_person_fields(form.raw) else None
    cleaned, errors = validate_submission(form, data, current=current, people=people)
    if errors:
        raise FormInvalid(
            "表单校验未通过 (form validation failed)",
            {"fields": {k: field_problem(e) for k, e in errors.items()}},
        )
    return {k: v for k, v in cleaned.items() if k in data or k not in current}


def field_problem(error: FieldError) -> dict[str, Any]:
    return {
        "code": error.code,
        "message": error.message,
        "message_en": error.message_en,
        "params": error.params,
    }


def check_data(data: Any) -> None:
    """Instance or form data as every channel must send it: an object, keys a script or form
    could name, at most MAX_DATA_BYTES as JSON."""
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是 JSON 对象 (data must be a JSON object)", {"field": "data"})
    for key in data:
        if not isinstance(key, str) or key.startswith("_"):
            raise InvalidInput("数据键不能以下划线开头 (data keys must not start with '_')",
                               {"field": "data", "key": str(key)[:60]})
        if not key.strip():  # no script or form could ever name it
            raise InvalidInput("数据键不能为空 (data keys must not be empty)",
                               {"field": "data", "key": key[:60]})
    if len(json.dumps(data, default=str)) > MAX_DATA_BYTES:
        raise InvalidInput("数据过大 (data too large)", {"field": "data", "problem": "too_large"})
