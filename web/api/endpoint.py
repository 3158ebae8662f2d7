"""The one preamble of every /api/v1 endpoint, and the route table the OpenAPI document is
generated from (`web.api.openapi`).

    @endpoint("POST", "/tasks/<task_id>/transfer", body=Handover, ok=OperationResult,
              errors=(403, 404, 409), summary="转办 Hand the task over for good")
    def transfer_task(call: Call, task_id: str, body: Handover) -> dict:
        ...

registers the view on the blueprint and in `ROUTES`, and around it:

1. validates the query string (`query=`) and the body (`body=`: JSON, or the multipart upload)
   against their declared models: a wrong field answers 400 with `details.field` naming it
   (`to`, `users[1]`, `query.per_page`); the body's bytes were parsed by `web.strict_input`;
2. opens the request's unit of work (the session the token check opened) and resolves the
   caller (`web.core.api_actor`; who may do what is the engine's business: `engine.access`);
3. calls the view with a `Call`, the URL's path parts, `query=` and `body=`;
4. answers what the view returns: a pydantic model, dict or list as JSON with the declared
   status (a `(value, status)` pair for another), None as 204, a `Response` as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, request
from pydantic import BaseModel, ValidationError

from engine import jsoncodec
from engine.errors import InvalidInput
from engine.strict_json import child_path, loads_strict
from web.api import bp
from web.core import api_actor, engine_ctx, unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.context import EngineContext
    from engine.people.accounts import Actor


@dataclass(frozen=True)
class Media:
    """A response that is not a JSON model: its media types with their JSON Schemas."""

    content: dict[str, dict[str, Any]]
    description: str = ""


Reply = type[BaseModel] | Media | None


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # the Flask rule, e.g. /process-instances/<int:instance_id>
    name: str  # the view's name: the blueprint endpoint and the operationId
    summary: str
    responses: dict[int, Reply]  # the first is the usual answer
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    multipart: bool = False
    query: type[BaseModel] | None = None
    public: bool = False


ROUTES: list[Route] = []
PUBLIC: set[str] = set()  # blueprint endpoint names that need no token


class Call:
    """What a view works with: the engine context, the request's session and the caller."""

    def __init__(
        self, ctx: EngineContext, session: Session | None = None, actor: Actor | None = None
    ) -> None:
        self.ctx = ctx
        self._session = session
        self._actor = actor

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("this endpoint runs without the request's unit of work")
        return self._session

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            raise RuntimeError("a public endpoint has no caller")
        return self._actor


def endpoint(
    method: str,
    rule: str,
    *,
    summary: str,
    ok: Reply | dict[int, Reply] = None,
    errors: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    multipart: bool = False,
    query: type[BaseModel] | None = None,
    public: bool = False,
    transaction: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare an endpoint (see the module's doc). `public`: no token needed, no caller;
    `transaction=False`: the view opens its own units of work (the token endpoint)."""
    responses = ok if isinstance(ok, dict) else {204 if ok is None else 200: ok}

    def register(view: Callable[..., Any]) -> Callable[..., Response]:
        route = Route(method, rule, view.__name__, summary, responses, errors, body, multipart,
                      query, public)
        status = next(iter(responses))

        def run(**path: Any) -> Response:
            args = dict(path)
            if query is not None:
                args["query"] = validated(query, query_fields(), "query")
            if body is not None:
                args["body"] = validated(body, multipart_fields() if multipart else json_body())
            ctx = engine_ctx()
            if not transaction:
                return answer(view(Call(ctx), **args), status)
            with unit_of_work() as session:
                actor = None if public else api_actor(session)
                return answer(view(Call(ctx, session, actor), **args), status)

        run.__name__ = run.__qualname__ = view.__name__
        run.__doc__ = view.__doc__
        bp.add_url_rule(rule, view.__name__, run, methods=[method])
        ROUTES.append(route)
        if public:
            PUBLIC.add(f"{bp.name}.{view.__name__}")
        return run

    return register


def is_public(endpoint_name: str | None) -> bool:
    return endpoint_name in PUBLIC


# --- reading the request ------------------------------------------------------------------------


def json_body() -> dict[str, Any]:
    """The JSON body (parsed by `web.strict_input.StrictJSON`); no body at all is `{}`."""
    body = request.get_json(silent=True)
    if body is None:
        if request.content_length in (None, 0) and not request.data:
            return {}
        if not request.is_json:  # get_json reads only bodies declared as JSON
            raise InvalidInput(
                "请求体须以 Content-Type: application/json 发送 "
                "(send the body as Content-Type: application/json)",
                {"field": "", "problem": "content_type"},
            )
        if not _is_json_null(request.get_data()):  # `null` is JSON, just not an object
            raise InvalidInput("请求体不是有效的 JSON (request body is not valid JSON)",
                               {"field": ""})
    if not isinstance(body, dict):
        raise InvalidInput(
            "请求体必须是 JSON 对象 (request body must be a JSON object)", {"field": ""}
        )
    return body


def _is_json_null(data: bytes) -> bool:
    try:
        return loads_strict(data) is None
    except ValueError:
        return False


def query_fields() -> dict[str, str]:
    """The query string, first value of each name; an empty value is no value."""
    return {name: value for name, value in request.args.items() if value != ""}


def multipart_fields() -> dict[str, Any]:
    """An upload: every file part, under `files` first, then under any other name."""
    files = request.files.getlist("files")
    files += [f for name, f in request.files.items(multi=True) if name != "files"]
    return {**request.form.to_dict(), "files": files}


# --- validation errors --------------------------------------------------------------------------

PROBLEMS = {
    "missing": "必填",
    "blank": "不能为空",
    "string_type": "必须是字符串",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "bool_type": "必须是布尔值",
    "greater_than": "超出范围",
    "greater_than_equal": "超出范围",
    "less_than": "超出范围",
    "less_than_equal": "超出范围",
    "literal_error": "取值无效",
    "dict_type": "必须是 JSON 对象",
    "model_type": "必须是 JSON 对象",
    "list_type": "必须是列表",
    "too_short": "条目太少",
    "too_long": "条目太多",
    "string_too_long": "文本过长",
    "datetime_format": "不是 ISO 8601 时间",
    "datetime_type": "不是 ISO 8601 时间",
    "timezone_aware": "需要带时区",
    "extra_forbidden": "不接受该字段",
}


def validated(model: type[BaseModel], raw: dict[str, Any], where: str = "") -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise invalid_input(exc, where) from None


def invalid_input(exc: ValidationError, where: str = "") -> InvalidInput:
    """400 naming the wrong fields (`details.field`: the first) and saying what is wrong with
    each, without echoing the value."""
    problems = exc.errors(include_url=False, include_input=False, include_context=False)
    fields, said = [], []
    for problem in problems:
        path = where
        for part in problem["loc"]:
            path = child_path(path, part)
        fields.append(path)
        name = path or "请求体 (body)"
        zh = PROBLEMS.get(problem["type"], "无效")
        said.append(f"字段 {name}：{zh} (field {path or 'body'}: {problem['msg']})")
    return InvalidInput("；".join(said[:5]), {"field": fields[0]})


def answer(value: Any, status: int) -> Response:
    if isinstance(value, Response):
        return value
    if isinstance(value, tuple):
        value, status = value
    if value is None:
        return Response(status=204)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    # Flask's jsonify, through the faster codec: sorted keys and Flask's own handling of
    # what plain JSON lacks (dates), as before.
    body = jsoncodec.dumps_bytes(value, current_app.json.default, sort_keys=True)  # type: ignore[attr-defined]
    return Response(body + b"\n", status=status, mimetype="application/json")
