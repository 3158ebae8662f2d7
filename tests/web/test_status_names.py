"""An instance's status is named by one rule (`web.i18n.status_name`) on every channel: the
pages in the reader's language, the command line in Chinese then its key. No channel shows a
bare key such as `running` for a status the engine can be in."""

from __future__ import annotations

import re

import pytest

from engine.read.instance_view import STATUSES
from web.cli_common import shown_status
from web.i18n import status_name

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("status", STATUSES)
def test_every_instance_status_has_a_name_in_both_languages(status: str) -> None:
    zh, en = status_name(status, "zh"), status_name(status, "en")
    assert CJK.search(zh) and zh != status, zh
    assert en and en != status and not CJK.search(en), en


@pytest.mark.parametrize("status", STATUSES)
def test_the_command_line_shows_the_pages_name_then_the_key(status: str) -> None:
    assert shown_status(status) == f"{status_name(status, 'zh')} {status}"


def test_a_status_no_catalogue_names_is_shown_as_it_is() -> None:
    assert status_name("teleported", "zh") == "teleported"
    assert shown_status("teleported") == "teleported"
    assert status_name(None, "zh") == status_name("", "en") == ""


def test_a_task_status_falls_back_to_the_staff_catalogue() -> None:
    assert status_name("active", "zh") == "进行中（未结束）"
    assert status_name("active", "en") == "In progress (not ended)"
