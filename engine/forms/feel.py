"""A tiny, safe FEEL subset: conditions, readonly/disabled and FEEL-valued validation limits.

Paths, literals, comparisons, ``and``/``or``/``not(...)`` and parentheses are parsed (cached)
and evaluated with FEEL's three-valued logic; anything outside the subset is ``UNKNOWN`` so the
caller can pick the safe reading (visible, locked, limit skipped).

Bounds: the parser and the evaluator recurse once per parenthesis level and once per
``and``/``or``, so :func:`feel_bounds_problem` first scans the text once (linear, no recursion)
and refuses more than ``MAX_FEEL_CHARS`` characters, brackets nested deeper than
``MAX_FEEL_DEPTH`` or more than ``MAX_FEEL_OPERATORS`` operators. ``load_form`` refuses such
expressions at deploy; should one still reach the evaluator (a form stored before the bounds),
it is outside the subset (``UNKNOWN``), and so is any error while evaluating: a form expression
never fails a submission.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from engine.forms.values import number_text

log = logging.getLogger("planflow.forms")


class _Unknown:
    """A value the subset cannot decide (unsupported syntax, or semantics it does not mirror)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()
_FEEL_TOKEN = re.compile(
    r"""\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<op><=|>=|!=|[=<>().-])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))""",
    re.VERBOSE,
)
_FEEL_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_FEEL_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})


MAX_FEEL_CHARS = 4096
"""Longest form expression (real ones are a few dozen characters)."""
MAX_FEEL_DEPTH = 32
"""Deepest nesting of ``( [ {``."""
MAX_FEEL_OPERATORS = 128
"""Most operators (``and or not = != < > + - * / ...``, ``between in if for some every``...)
in one expression: each ``and``/``or`` is one level of the parsed tree."""

_FEEL_OPERATOR_CHARS = frozenset("+-*/=!<>")
_FEEL_OPERATOR_WORDS = frozenset(
    {"and", "or", "not", "between", "in", "if", "then", "else", "for", "some", "every",
     "satisfies", "return", "instance", "function"}
)


def feel_bounds_problem(source: str) -> str | None:
    """Why ``source`` is too big or too deep for the evaluator, or None. One pass over the
    characters; string literals are skipped."""
    if len(source) > MAX_FEEL_CHARS:
        return f"表达式过长 (expression longer than {MAX_FEEL_CHARS} characters)"
    depth = operators = 0
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == '"':
            i += 1
            while i < n and source[i] != '"':
                i += 2 if source[i] == "\\" else 1
        elif ch in "([{":
            depth += 1
            if depth > MAX_FEEL_DEPTH:
                return f"括号嵌套过深 (brackets nested deeper than {MAX_FEEL_DEPTH} levels)"
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in _FEEL_OPERATOR_CHARS:
            operators += 1
            while i + 1 < n and source[i + 1] in _FEEL_OPERATOR_CHARS:
                i += 1
        elif ch.isalpha() or ch == "_":
            start = i
            while i + 1 < n and (source[i + 1].isalnum() or source[i + 1] == "_"):
                i += 1
            if source[start : i + 1] in _FEEL_OPERATOR_WORDS:
                operators += 1
        if operators > MAX_FEEL_OPERATORS:
            return f"运算符过多 (more than {MAX_FEEL_OPERATORS} operators)"
        i += 1
    return None


class _FeelUnsupported(Exception):
    """The expression is outside the supported subset."""


def _feel_tokens(source: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    text = source.strip()
    pos = 0
    while pos < len(text):
        match = _FEEL_TOKEN.match(text, pos)
        if match is None:
            raise _FeelUnsupported(text[pos:])
        pos = match.end()
        kind = match.lastgroup or ""
        word = match.group(kind)
        if kind == "num":
            tokens.append(("lit", Decimal(word)))
        elif kind == "str":
            tokens.append(("lit", _feel_string(word[1:-1])))
        elif kind == "name" and word in ("true", "false", "null"):
            tokens.append(("lit", {"true": True, "false": False, "null": None}[word]))
        else:
            tokens.append((kind, word))
    return tokens


def _feel_string(body: str) -> str:
    out, chars = [], iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            if nxt not in _FEEL_ESCAPES:
                raise _FeelUnsupported("\\" + nxt)
            ch = _FEEL_ESCAPES[nxt]
        out.append(ch)
    return "".join(out)


class _FeelParser:
    """disjunction := conjunction ('or' conjunction)* ; conjunction := comparison ('and' ...)*
    comparison := operand (op operand)? ; operand := literal | '-' number | path
    | '(' disjunction ')' | 'not' '(' disjunction ')'"""

    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> tuple[Any, ...]:
        node = self.disjunction()
        if self.pos != len(self.tokens):
            raise _FeelUnsupported("trailing tokens")
        return node

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", None)

    def take(self, kind: str, word: Any = None) -> Any:
        got_kind, got = self.peek()
        if got_kind != kind or (word is not None and got != word):
            raise _FeelUnsupported(f"expected {word or kind}")
        self.pos += 1
        return got

    def disjunction(self) -> tuple[Any, ...]:
        node = self.conjunction()
        while self.peek() == ("name", "or"):
            self.pos += 1
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> tuple[Any, ...]:
        node = self.comparison()
        while self.peek() == ("name", "and"):
            self.pos += 1
            node = ("and", node, self.comparison())
        return node

    def comparison(self) -> tuple[Any, ...]:
        node = self.operand()
        kind, word = self.peek()
        if kind == "op" and word in _FEEL_COMPARISONS:
            self.pos += 1
            node = ("cmp", word, node, self.operand())
        return node

    def operand(self) -> tuple[Any, ...]:
        kind, word = self.peek()
        if kind == "lit":
            self.pos += 1
            return ("lit", word)
        if (kind, word) == ("op", "-"):
            self.pos += 1
            number = self.take("lit")
            if not isinstance(number, Decimal):
                raise _FeelUnsupported("unary minus")
            return ("lit", -number)
        if (kind, word) == ("op", "("):
            self.pos += 1
            node = self.disjunction()
            self.take("op", ")")
            return node
        if (kind, word) == ("name", "not"):
            self.pos += 1
            self.take("op", "(")
            node = self.disjunction()
            self.take("op", ")")
            return ("not", node)
        return self.path()

    def path(self) -> tuple[Any, ...]:
        names = [self.take("name")]
        while self.peek() == ("op", "."):
            self.pos += 1
            names.append(self.take("name"))
        if names[0] in ("and", "or", "not"):
            raise _FeelUnsupported(names[0])
        return ("path", tuple(names))


@lru_cache(maxsize=1024)
def _feel_parse(source: str) -> tuple[Any, ...] | None:
    if feel_bounds_problem(source) is not None:
        return None
    try:
        return _FeelParser(_feel_tokens(source)).parse()
    except (_FeelUnsupported, InvalidOperation, RecursionError):
        return None


def feel_value(source: str, context: Mapping[str, Any]) -> Any:
    """Evaluate as a FEEL expression; ``UNKNOWN`` when outside the subset or when evaluating
    fails (the caller then takes the safe reading)."""
    tree = _feel_parse(source)
    if tree is None:
        return UNKNOWN
    try:
        return _feel_eval(tree, context)
    except Exception:  # never fail a submission over a form expression
        log.warning("form expression %.200r could not be evaluated", source, exc_info=True)
        return UNKNOWN


def feel_hides(source: str, context: Mapping[str, Any]) -> bool:
    """Evaluate ``conditional.hide`` as form-js does (a FEEL unary test without input value).
    An expression that cannot be evaluated leaves the field visible (so it is validated)."""
    tree = _feel_parse(source)
    if tree is None:
        return False
    try:
        if tree[0] == "not":  # unary-test negation: not(tests)
            matched = _unary_match(_feel_eval(tree[1], context))
            return matched is False
        return _unary_match(_feel_eval(tree, context)) is True
    except Exception:  # never fail a submission over a form expression
        log.warning("form condition %.200r could not be evaluated", source, exc_info=True)
        return False


def _unary_match(value: Any) -> Any:
    """A non-boolean test result is compared with the (absent, null) input: null matches."""
    if value is UNKNOWN or isinstance(value, bool):
        return value
    if value is None:
        return True
    return False if isinstance(value, str | Decimal | int | float) else UNKNOWN


def _feel_eval(tree: tuple[Any, ...], context: Mapping[str, Any]) -> Any:
    tag = tree[0]
    if tag == "lit":
        return tree[1]
    if tag == "path":
        return _feel_path(tree[1], context)
    if tag == "not":
        return _feel_not(_feel_eval(tree[1], context))
    if tag == "cmp":
        return _feel_compare(tree[1], _feel_eval(tree[2], context), _feel_eval(tree[3], context))
    left, right = _feel_eval(tree[1], context), _feel_eval(tree[2], context)
    return _feel_and(left, right) if tag == "and" else _feel_or(left, right)


def _feel_path(names: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    value: Any = context
    for name in names:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return UNKNOWN if isinstance(value, list) else None
        value = value.get(name)
    return _feel_normalize(value)


def _feel_normalize(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(number_text(value)) if math.isfinite(value) else UNKNOWN
    return value


def _feel_not(value: Any) -> Any:
    if value is UNKNOWN:
        return UNKNOWN
    return (not value) if isinstance(value, bool) else None


def _feel_and(left: Any, right: Any) -> Any:
    if left is False or right is False:
        return False
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    return True if left is True and right is True else None


def _feel_or(left: Any, right: Any) -> Any:
    if left is True or right is True:
        return True
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    return False if left is False and right is False else None


def _feel_compare(op: str, left: Any, right: Any) -> Any:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if op in ("=", "!="):
        if left is None or right is None:
            equal = left is None and right is None
        elif _feel_kind(left) is None or _feel_kind(left) != _feel_kind(right):
            return UNKNOWN
        else:
            equal = left == right
        return equal if op == "=" else not equal
    if left is None or right is None:
        return None
    kind = _feel_kind(left)
    if kind not in ("number", "string") or kind != _feel_kind(right):
        return UNKNOWN
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _feel_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    return "string" if isinstance(value, str) else None
