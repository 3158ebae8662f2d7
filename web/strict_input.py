"""Request input checked at the edge, before anything is written.

Every JSON body the app reads goes through `request.get_json()`, whose parser is `StrictJSON`
below (`StrictRequest.json_module`): that is the one choke point for JSON, in the API and in
the pages that post JSON (the form-js start and task forms, the model editor). Its rules live in
`engine.strict_json` (uploaded form files keep the same ones). Query strings, URL path parts and
urlencoded/multipart form fields are checked by `check_request_fields` (after the API's token
check, after the pages' CSRF check), by the same string rules, at most MAX_FIELD_CHARS
characters each; werkzeug's own limits bound a form's part count and in-memory size.

Limits are documented in README "Input limits"; real forms never come near them (a BPMN diagram
edited in the browser is a string in a JSON body: the department's largest is 84 KB).
"""

from __future__ import annotations

import json
from typing import IO, Any
from urllib.parse import parse_qsl

from flask import Flask, Request
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser

from engine.strict_json import MAX_KEY_CHARS, check_string, child_path, loads_strict

MAX_FIELD_CHARS = 100_000


class StrictJSON:
    """The JSON module `StrictRequest` parses bodies with (Flask calls `loads` on raw bytes).
    It raises InvalidInput, not ValueError, so `get_json(silent=True)` cannot swallow it."""

    loads = staticmethod(loads_strict)

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)


class StrictFormDataParser(FormDataParser):
    """werkzeug's form parser, except that an urlencoded body's percent-escapes that are no
    UTF-8 (`reason=%ED%B2%80`) decode to lone surrogates, which `check_request_fields` refuses
    naming the field. werkzeug keeps them as the literal text "%ED%B2%80": a value nobody typed
    (a browser sends a typed "%" as "%25"), which would have been stored."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, Any]]:
        if mimetype != "application/x-www-form-urlencoded":
            return super().parse(stream, mimetype, content_length, options)
        text = stream.read().decode("utf-8", "surrogateescape")
        items = parse_qsl(text, keep_blank_values=True, errors="surrogateescape")
        return stream, self.cls(items), self.cls()


class StrictRequest(Request):
    """Flask's request, parsing its body with `StrictJSON` and its urlencoded form with
    `StrictFormDataParser`. Flask assigns `app.json` to every request's `json_module` when it
    pushes the request context; that assignment is ignored here (the app's provider stays in
    charge of everything else: responses, the session)."""

    form_data_parser_class = StrictFormDataParser

    @property  # type: ignore[override]
    def json_module(self) -> Any:
        return StrictJSON

    @json_module.setter
    def json_module(self, _value: Any) -> None:
        pass


def _check_field(kind: str, name: object, value: object, limit: int = MAX_FIELD_CHARS) -> None:
    name = name if isinstance(name, str) else ""  # a multipart part may come without a name
    check_string(name, f"{kind}[{json.dumps(name[:60])}]", MAX_KEY_CHARS)
    if isinstance(value, str):
        check_string(value, child_path(kind, name), limit)


def check_request_fields(request: Request) -> None:
    """Query string, URL path parts and (urlencoded/multipart) form fields."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check_string(value, f"path.{name}", MAX_FIELD_CHARS)
    for name, value in request.args.items(multi=True):
        _check_field("query", name, value)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, value in request.form.items(multi=True):
            _check_field("form", name, value)
        for name, upload in request.files.items(multi=True):
            _check_field("files", name, upload.filename, MAX_KEY_CHARS)


def init_app(app: Flask) -> None:
    """Bodies parse strictly everywhere; the pages' query/path/form fields are checked before
    their views run (after the CSRF check: registered after web.session_auth). The API checks
    them after its token check (web.api.require_token): authentication comes first there."""
    app.request_class = StrictRequest

    @app.before_request
    def check_page_fields() -> None:
        from flask import request

        if not request.path.startswith("/api/"):
            check_request_fields(request)
