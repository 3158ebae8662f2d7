"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json: generated from the
route table (`web.api.endpoint.ROUTES`) and the declared models (`web.api.schemas`), the same
declarations that validate the requests. Nothing here is written by hand but the wording."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.api.endpoint import ROUTES, Call, Media, Route, endpoint
from web.api.schemas.responses import Error

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": REF.format(model="Error")}
JSON = "application/json"
# path parts published under another name than the view's argument
PATH_NAMES = {"instance_id": "id"}
CONVERTERS = {"int": {"type": "integer"}}
PATH_PART = re.compile(r"<(?:(\w+):)?(\w+)>")

ERRORS = {
    400: "Bad request: a body, query or path field breaks the declared schema or the input "
    "rules (lone surrogate, NUL, NaN/Infinity, nesting deeper than 32, size limits); "
    "details.field names it",
    401: "Not authenticated",
    403: "Forbidden: visible, but not the caller's to do",
    404: "Not found (or not visible to the caller)",
    409: "Conflict: the state does not allow it (already done, not delegated, ...)",
    413: "Too large",
    422: "Form validation failed: details.fields, per form field",
    429: "Too many failed logins for this user or address (Retry-After header)",
}
INFO = {
    "title": "planflow API",
    "version": "1",
    "description": "企业策划部流程自动化 — process automation for the planning department. "
    'Errors: {"error": {code, message, details}}.',
}


def spec() -> dict[str, Any]:
    from web.api import load_routes

    load_routes()
    models = collect_models(ROUTES)
    refs, defs = models_json_schema(models, ref_template=REF)
    schemas = dict(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path, parameters = openapi_path(route.rule)
        operation = describe(route, refs)
        if route.query is not None:
            query, query_defs = query_parameters(route.query)
            parameters += query
            schemas.update(query_defs)
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(schemas.items())),
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def collect_models(routes: list[Route]) -> list[tuple[type[BaseModel], Any]]:
    """Bodies in validation mode, answers in serialization mode (what a client sends and what
    it gets can differ: defaults are filled in)."""
    found: dict[tuple[type[BaseModel], str], None] = {(Error, "serialization"): None}
    for route in routes:
        if route.body is not None:
            found[(route.body, "validation")] = None
        for reply in route.responses.values():
            if isinstance(reply, type):
                found[(reply, "serialization")] = None
    return list(found)


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """`/tasks/<task_id>` → `/tasks/{task_id}` and its path parameters."""
    parameters: list[dict[str, Any]] = []

    def part(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        name = PATH_NAMES.get(name, name)
        schema = CONVERTERS.get(converter or "", {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return PATH_PART.sub(part, rule), parameters


def describe(route: Route, refs: dict[tuple[Any, Any], dict[str, str]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.name, "summary": route.summary}
    if route.public:
        operation["security"] = []
    if route.body is not None:
        media = "multipart/form-data" if route.multipart else JSON
        required = any(f.is_required() for f in route.body.model_fields.values())
        operation["requestBody"] = {
            "required": required,
            "content": {media: {"schema": refs[(route.body, "validation")]}},
        }
    responses: dict[str, Any] = {}
    for status, reply in route.responses.items():
        out: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if isinstance(reply, Media):
            out["description"] = reply.description or out["description"]
            out["content"] = {media: {"schema": s} for media, s in reply.content.items()}
        elif reply is not None:
            out["content"] = {JSON: {"schema": refs[(reply, "serialization")]}}
        responses[str(status)] = out
    codes = {400, *route.errors} | (set() if route.public else {401})
    for status in sorted(codes):
        responses[str(status)] = {"description": ERRORS[status],
                                  "content": {JSON: {"schema": ERROR_REF}}}
    operation["responses"] = responses
    return operation


def query_parameters(model: type[BaseModel]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    parameters = [
        {"name": name, "in": "query", "required": name in required, "schema": not_null(prop)}
        for name, prop in schema["properties"].items()
    ]
    return parameters, schema.get("$defs", {})


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None = None` of a query parameter: absent is None, there is no null to send."""
    options = schema.get("anyOf")
    if not options or {"type": "null"} not in options or len(options) != 2:
        return schema
    [kept] = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**rest, **kept}


@endpoint("GET", "/openapi.json", summary="This document", public=True, transaction=False,
          ok=Media({JSON: {"type": "object"}}, "The OpenAPI 3.1 document"))
def openapi(call: Call) -> dict[str, Any]:
    return spec()
