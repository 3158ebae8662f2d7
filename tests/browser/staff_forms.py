"""Filling in a form-js staff form in real Chromium, shared by the browser tests: wait until the
form is ready, a field by its label, fill a field, pick a person in a picker, and submit and
wait for the next page."""

from __future__ import annotations

import re


def form_ready(page) -> None:
    page.locator("#staff-form[data-ready=true]").wait_for()


def label(text: str) -> re.Pattern[str]:
    """A form-js field's accessible name: its label, plus " *" when it is required."""
    return re.compile(rf"^{re.escape(text)}\s*\*?$")


def fill(page, text: str, value: str) -> None:
    field = page.get_by_label(label(text))
    field.fill(value)
    field.blur()  # form-js debounces input: blur commits the value


def submit_and_wait(page, button: str, url_pattern: str) -> None:
    with page.expect_navigation(url=re.compile(url_pattern)):
        page.get_by_role("button", name=button).click()


def pick(page, text: str, query: str, option: str) -> None:
    """Type `query` into the picker labelled `text` and click the option `option`."""
    field = page.get_by_label(label(text))
    field.click()
    field.fill(query)
    page.locator(".fjs-dropdownlist-item", has_text=option).click()
