"""The flat list of domain errors the engine raises.

The web layer maps each to one HTTP status; the CLI prints the message and exits non-zero.
Messages are human (zh-CN first); `details` carries machine-readable context.
"""

from __future__ import annotations

from typing import Any


class PlanflowError(Exception):
    """Base class: every error the engine means to report to a person."""

    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(PlanflowError):
    code = "not_found"


class Forbidden(PlanflowError):
    code = "forbidden"


class Unauthenticated(PlanflowError):
    code = "unauthenticated"


class Conflict(PlanflowError):
    """The thing changed under the caller (already completed, concurrent update)."""

    code = "conflict"


class InvalidInput(PlanflowError):
    """Malformed request data (not a form's field errors: see FormInvalid)."""

    code = "invalid_input"


class FormInvalid(PlanflowError):
    """Submitted form data failed server-side validation; details['fields'] names each field."""

    code = "form_invalid"


class InvalidModel(PlanflowError):
    """A BPMN/DMN/form upload was refused; details name the file, element and problem."""

    code = "invalid_model"


class InstanceStateError(PlanflowError):
    """The instance is not in a state that allows the operation (e.g. retry without incident)."""

    code = "invalid_state"
