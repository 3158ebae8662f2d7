"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from web.api import bp

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
NULLABLE_STR = {"type": ["string", "null"]}
TASK = {
    "type": "object",
    "required": ["id", "instance_id", "process", "element_id", "name", "status"],
    "properties": {
        "id": {"type": "string"},
        "instance_id": {"type": "integer"},
        "process": {"type": "string"},
        "element_id": {"type": "string"},
        "name": {"type": "string"},
        "lane": NULLABLE_STR,
        "assignee": NULLABLE_STR,
        "candidate_groups": {"type": "array", "items": {"type": "string"}},
        # on_hold: waiting for 加签/会签 signatures (engine.operations)
        "status": {"type": "string", "enum": ["open", "on_hold", "completed", "cancelled"]},
        "form_file": NULLABLE_STR,
        "due_at": NULLABLE_STR,
        "overdue": {"type": "boolean"},
        "created_at": NULLABLE_STR,
        "claimed_at": NULLABLE_STR,
        "completed_at": NULLABLE_STR,
        "completed_by": NULLABLE_STR,
        "instance_title": {"type": "string"},
    },
}
INSTANCE = {
    "type": "object",
    "required": ["id", "process", "version", "status", "started_by"],
    "properties": {
        "id": {"type": "integer"},
        "process": {"type": "string"},
        "version": {"type": "integer"},
        "title": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["running", "waiting", "completed", "error", "terminated", "suspended"],
        },
        "stage": NULLABLE_STR,
        "started_by": {"type": "string"},
        "created_at": NULLABLE_STR,
        "updated_at": NULLABLE_STR,
        "completed_at": NULLABLE_STR,
        "suspended": {"type": "boolean"},
    },
}
INSTANCE_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Instance"},
        {
            "type": "object",
            "required": ["data", "open_tasks", "audit"],
            "properties": {
                "data": {"type": "object"},
                "open_tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                "timers": {"type": "array", "items": {"type": "object"}},
                "incidents": {"type": "array", "items": {"type": "object"}},
                "documents": {"type": "array", "items": {"type": "object"}},
                "audit": {"type": "array", "items": {"type": "object"}},
            },
        },
    ],
}


def _page(item_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _resp(code: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": desc}
    if schema is not None:
        out.update(_json(schema))
    return {code: out}


def _errors(*codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    names = {
        "400": "Bad request",
        "401": "Not authenticated",
        "403": "Forbidden",
        "404": "Not found",
        "409": "Conflict",
        "413": "Too large",
        "422": "Form validation failed",
    }
    for c in ("401", *codes):
        out.update(_resp(c, names[c], {"$ref": "#/components/schemas/Error"}))
    return out


def _op(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": responses, **extra}


ID_PATH = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
TASK_PATH = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]
KEY_PATH = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}]
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
    },
]
DATA_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"data": {"type": "object"}}}
        }
    },
}
INSTANCE_ACTION = {"parameters": ID_PATH}


def spec() -> dict[str, Any]:
    detail_ref = {"$ref": "#/components/schemas/InstanceDetail"}
    paths: dict[str, Any] = {
        "/healthz": {
            "get": _op("Health check", _resp("200", "OK", {"type": "object"}), security=[])
        },
        "/auth/token": {
            "post": _op(
                "Get a bearer token",
                {
                    **_resp(
                        "201",
                        "Token",
                        {
                            "type": "object",
                            "required": ["token"],
                            "properties": {
                                "token": {"type": "string"},
                                "username": {"type": "string"},
                            },
                        },
                    ),
                    **_resp("400", "Bad request", {"$ref": "#/components/schemas/Error"}),
                    **_resp("401", "Wrong credentials", {"$ref": "#/components/schemas/Error"}),
                    **_resp(
                        "429",
                        "Too many failed logins for this user or address (Retry-After header)",
                        {"$ref": "#/components/schemas/Error"},
                    ),
                },
                security=[],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    },
                },
            )
        },
        "/auth/revoke": {
            "post": _op(
                "Revoke the calling token", {"204": {"description": "Revoked"}, **_errors()}
            )
        },
        "/me": {
            "get": _op(
                "The calling user", {**_resp("200", "User", {"type": "object"}), **_errors()}
            )
        },
        "/process-models": {
            "get": _op(
                "List process models", {**_resp("200", "Models", {"type": "object"}), **_errors()}
            ),
            "post": _op(
                "Deploy BPMN/DMN/form files (multipart, field 'files')",
                {
                    **_resp("201", "New version(s)", {"type": "object"}),
                    **_resp("200", "Unchanged", {"type": "object"}),
                    **_errors("400", "403", "413"),
                },
                requestBody={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "files": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    }
                                },
                            }
                        }
                    },
                },
            ),
        },
        "/process-models/{key}": {
            "get": _op(
                "A process model with its versions",
                {**_resp("200", "Model", {"type": "object"}), **_errors("404")},
                parameters=KEY_PATH,
            )
        },
        "/process-instances": {
            "post": _op(
                "Start an instance",
                {**_resp("201", "Started", detail_ref), **_errors("400", "404", "422")},
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["process"],
                                "properties": {
                                    "process": {"type": "string"},
                                    "data": {"type": "object"},
                                },
                            }
                        }
                    },
                },
            ),
            "get": _op(
                "List instances",
                {**_resp("200", "Page", _page("#/components/schemas/Instance")), **_errors("400")},
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": list(INSTANCE["properties"]["status"]["enum"]),
                        },
                    },
                    {"name": "process", "in": "query", "schema": {"type": "string"}},
                    {"name": "started_by", "in": "query", "schema": {"type": "string"}},
                    *PAGING,
                ],
            ),
        },
        "/process-instances/{id}": {
            "get": _op(
                "Instance detail: status, version, data, open tasks, audit log",
                {**_resp("200", "Instance", detail_ref), **_errors("403", "404")},
                parameters=ID_PATH,
            )
        },
        "/process-instances/{id}/messages/{name}": {
            "post": _op(
                "Deliver a message the instance waits for (e.g. raise_risk)",
                {**_resp("200", "Instance", detail_ref), **_errors("400", "403", "404", "409")},
                parameters=[
                    *ID_PATH,
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                requestBody=DATA_BODY,
            )
        },
    }
    paths["/process-instances/{id}/data"] = {"patch": _op(
        "Change instance variables; waiting date-relative timers are recomputed",
        {**_resp("200", "Instance", detail_ref), **_errors("400", "403", "404", "409")},
        parameters=ID_PATH,
        requestBody={"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "object"}}}}}})}
    paths["/process-instances/{id}/documents/{doc_id}"] = {"get": _op(
        "Download a generated document (Markdown or .docx)",
        {"200": {"description": "The document",
                 "content": {"text/markdown": {"schema": {"type": "string"}},
                             "application/vnd.openxmlformats-officedocument"
                             ".wordprocessingml.document":
                                 {"schema": {"type": "string", "format": "binary"}}}},
         **_errors("400", "403", "404")},
        parameters=[*ID_PATH,
                    {"name": "doc_id", "in": "path", "required": True,
                     "schema": {"type": "integer"}},
                    {"name": "format", "in": "query",
                     "schema": {"type": "string", "enum": ["md", "docx"]}}])}
    paths["/process-models/{key}/versions/{version}/files/{name}"] = {"get": _op(
        "A source file of a deployed version (BPMN, DMN or form)",
        {"200": {"description": "The file",
                 "content": {"application/xml": {"schema": {"type": "string"}},
                             "application/json": {"schema": {"type": "object"}}}},
         **_errors("404")},
        parameters=[*KEY_PATH,
                    {"name": "version", "in": "path", "required": True,
                     "schema": {"type": "integer"}},
                    {"name": "name", "in": "path", "required": True,
                     "schema": {"type": "string"}}])}
    for action, summary in (
        ("retry", "Retry after an incident"),
        ("terminate", "Terminate (initiator or admin)"),
        ("suspend", "Suspend"),
        ("resume", "Resume"),
    ):
        paths[f"/process-instances/{{id}}/{action}"] = {
            "post": _op(
                summary,
                {**_resp("200", "Instance", detail_ref), **_errors("400", "403", "404", "409")},
                parameters=ID_PATH,
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"reason": {"type": "string"}},
                            }
                        }
                    },
                },
            )
        }
    paths["/tasks"] = {
        "get": _op(
            "The caller's tasks (assigned to them or their groups)",
            {**_resp("200", "Page", _page("#/components/schemas/Task")), **_errors("400")},
            parameters=[
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["open", "completed"]},
                },
                {"name": "process", "in": "query", "schema": {"type": "string"}},
                *PAGING,
            ],
        )
    }
    paths["/tasks/{task_id}"] = {
        "get": _op(
            "A task with its form",
            {
                **_resp("200", "Task", {"$ref": "#/components/schemas/Task"}),
                **_errors("403", "404"),
            },
            parameters=TASK_PATH,
        )
    }
    for action in ("claim", "unclaim"):
        paths[f"/tasks/{{task_id}}/{action}"] = {
            "post": _op(
                action.capitalize(),
                {
                    **_resp("200", "Task", {"$ref": "#/components/schemas/Task"}),
                    **_errors("403", "404", "409"),
                },
                parameters=TASK_PATH,
            )
        }
    paths["/tasks/{task_id}/complete"] = {
        "post": _op(
            "Complete a task with form data",
            {
                **_resp(
                    "200",
                    "Completed",
                    {
                        "type": "object",
                        "required": ["task_id", "instance"],
                        "properties": {"task_id": {"type": "string"}, "instance": detail_ref},
                    },
                ),
                **_errors("400", "403", "404", "409", "422"),
            },
            parameters=TASK_PATH,
            requestBody=DATA_BODY,
        )
    }
    from web.api.openapi_ops import ops_paths  # task operations, CC, absences, notifications

    paths.update(ops_paths())
    _input_rules_everywhere(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "planflow API",
            "version": "1",
            "description": "企业策划部流程自动化 — process automation for the planning "
            'department. Errors: {"error": {code, message, details}}.',
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "Task": TASK,
                "Instance": INSTANCE,
                "InstanceDetail": INSTANCE_DETAIL,
            },
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


INPUT_RULES = (
    "Bad request: a body, query or path field breaks the input rules (lone surrogate, NUL, "
    "NaN/Infinity, nesting deeper than 32, size limits); details.field names it"
)


def _input_rules_everywhere(paths: dict[str, Any]) -> None:
    """Every operation may answer 400 (web.strict_input checks every request's fields)."""
    for item in paths.values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "400",
                    {"description": INPUT_RULES, **_json({"$ref": "#/components/schemas/Error"})},
                )


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())
