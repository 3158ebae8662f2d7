"""Text fields of a submission: patterns matched as JavaScript does (and stopped when one
backtracks for ever), lengths, line breaks, e-mail addresses and phone numbers."""

from __future__ import annotations

import threading
import time

from engine.forms import validate_submission
from tests.engine.form_helpers import form_fixture, make, only_error, submit  # noqa: F401  (fixtures)


def test_pattern(form):
    assert submit(form, projectCode="PF-0001")[1] == {}
    err = only_error(submit(form, projectCode="PF-12345")[1], "projectCode")
    assert (err.code, err.message, err.message_en) == (
        "pattern", "格式不正确", "The value does not have the required format.",
    )
    assert err.params == {"pattern": r"^PF-\d{4}$"}


def test_pattern_is_a_search_like_javascript_regexp_test():
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": r"\d{3}"}}])
    assert validate_submission(f, {"code": "abc123def"})[1] == {}
    assert validate_submission(f, {"code": "ab12"})[1]["code"].code == "pattern"


def test_pattern_digits_are_ascii_like_javascript():
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": r"^\d+$"}}])
    assert validate_submission(f, {"code": "123"})[1] == {}
    assert validate_submission(f, {"code": "１２３"})[1]["code"].code == "pattern"  # full-width


def test_a_pattern_that_backtracks_for_ever_is_stopped_without_stalling_the_server():
    """``^(a|a)+$`` on 40 characters and a mismatch backtracks for hours. The check stops at
    its time limit with a message for the process owner, and other threads keep running
    meanwhile (the match runs without the GIL)."""
    f = make([{"type": "textfield", "key": "code", "validate": {"pattern": "^(a|a)+$"}}])
    ticks = 0
    done = threading.Event()

    def neighbour() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    thread = threading.Thread(target=neighbour)
    thread.start()
    began = time.monotonic()
    try:
        _, errors = validate_submission(f, {"code": "a" * 40 + "!"})
    finally:
        done.set()
        thread.join()
    assert time.monotonic() - began < 5
    err = errors["code"]
    assert err.code == "pattern"
    assert err.message == "此项的格式规则过于复杂，无法校验，请联系流程管理员"
    assert ticks > 1000  # the neighbour ran during the match
    assert validate_submission(f, {"code": "aaaa"})[1] == {}


def test_textfield_refuses_line_breaks(form):
    err = only_error(submit(form, projectCode="PF-0001\n")[1], "projectCode")
    assert (err.code, err.message) == ("type", "不能包含换行")


def test_min_and_max_length(form):
    assert submit(form, title="年会")[1] == {}
    assert submit(form, title="一" * 20)[1] == {}
    err = only_error(submit(form, title="年")[1], "title")
    assert (err.code, err.message, err.message_en, err.params) == (
        "minLength", "至少 2 个字符", "Must be at least 2 characters.", {"minLength": 2},
    )
    err = only_error(submit(form, title="一" * 21)[1], "title")
    assert (err.code, err.message, err.params) == ("maxLength", "最多 20 个字符", {"maxLength": 20})


def test_length_is_counted_on_the_trimmed_value(form):
    assert submit(form, title="  年会  ")[1] == {}
    assert submit(form, title=" 年 ")[1]["title"].code == "minLength"


def test_textarea_max_length(form):
    assert submit(form, description="策" * 200)[1] == {}
    err = only_error(submit(form, description="策" * 201)[1], "description")
    assert (err.code, err.message, err.message_en) == (
        "maxLength", "最多 200 个字符", "Must be at most 200 characters.",
    )
    assert submit(form, description="第一行\n第二行")[1] == {}  # textarea: line breaks fine


def test_text_must_be_text(form):
    err = only_error(submit(form, title=["年会"])[1], "title")
    assert (err.code, err.message) == ("type", "请输入文本")
    assert submit(form, description=123)[0]["description"] == "123"


def test_email(form):
    assert submit(form, contactEmail="zhang.san+events@corp.example.cn")[1] == {}
    err = only_error(submit(form, contactEmail="zhang.san@")[1], "contactEmail")
    assert (err.code, err.message, err.message_en) == (
        "email", "请输入有效的电子邮箱地址", "Please enter a valid email address.",
    )


def test_phone_needs_international_form(form):
    ok = [{"name": "王五", "phone": "+8613812345678"}, {"name": "赵六", "phone": "008610123456"}]
    assert submit(form, guests=ok)[1] == {}
    err = only_error(submit(form, guests=[{"name": "王五", "phone": "13812345678"}])[1],
                     "guests[0].phone")
    assert err.code == "phone"
    assert err.message == "请输入有效的国际电话号码，例如 +8613812345678"
