"""Playwright (sync API) fixtures driving Debian's Chromium (/usr/bin/chromium).

No pytest-playwright: the fixtures are written here with ``sync_playwright``.

- ``browser`` (session): Chromium launched from ``/usr/bin/chromium``. If it is missing, every
  browser test FAILS (not skips) telling you to run ``.ci/install-browser.sh``.
- ``page`` (function): a fresh context per test (1280x800, zh-CN). It records console errors,
  uncaught page errors, HTTP error responses and every request to a host other than
  127.0.0.1/localhost (those are aborted), and fails the test at teardown if any occurred.
  A test that expects one can call ``page_problems.allow(r"regex")`` first.
- ``screenshot(page, name)``: saves ``tests/screenshots/<name>.png``.
- ``take_readme_screenshot(page, name)``: the same, and with ``PLANFLOW_README_SCREENSHOTS=1``
  also the README's copy in ``web/static/img/screenshots/`` (a plain run leaves the tree clean).

Every test in this folder gets the ``browser`` marker (``pytest -m "not browser"`` skips them).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# tests/browser has no __init__.py, so pytest puts this folder, not the project root, on sys.path.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    # the browser's own UI language (native date/time inputs, file pickers): a Chinese office's
    "--lang=zh-CN",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Schemes that never leave the machine and are not routed anyway.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome", "chrome-extension", "devtools"})
VIEWPORT = {"width": 1280, "height": 800}
LOCALE = "zh-CN"
TIMEZONE = "Asia/Shanghai"
SCREENSHOT_DIR = PROJECT_ROOT / "tests" / "screenshots"
README_SCREENSHOT_DIR = PROJECT_ROOT / "web" / "static" / "img" / "screenshots"

# Console errors that come from a vendored library itself, not from our code; tolerated in every
# test. Keep each one narrow and say where it comes from.
KNOWN_UPSTREAM_CONSOLE_ERRORS = (
    # dmn-js dist bundles (all of them, 17.x) contain Inferno's development build, which logs
    # this at load time. Upstream bug, open: https://github.com/bpmn-io/dmn-js/issues/965
    r"^console error: It looks like you're using a minified copy of the development build of "
    r"Inferno\. ",
)

_THIS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the items of the whole session: mark only the ones in this folder.
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(_THIS_DIR):
            item.add_marker(pytest.mark.browser)


class PageProblems:
    """What went wrong in a page: console errors, page errors, bad responses, outside requests."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.http_errors: list[str] = []
        self.external_requests: list[str] = []
        self._allowed: list[re.Pattern[str]] = [
            re.compile(p) for p in KNOWN_UPSTREAM_CONSOLE_ERRORS
        ]

    def allow(self, pattern: str) -> None:
        """Tolerate problems matching ``pattern`` in this test.

        Matched with re.search against the reported line, e.g.
        ``"console error: Failed to load resource: ..."`` or ``"HTTP error response: 404 GET ..."``.
        """
        self._allowed.append(re.compile(pattern))

    def clear(self) -> None:
        for bucket in (
            self.console_errors,
            self.page_errors,
            self.http_errors,
            self.external_requests,
        ):
            bucket.clear()

    def report(self) -> list[str]:
        """The problems not tolerated by ``allow``, one line each."""
        lines = [
            f"{title}: {text}"
            for title, bucket in (
                ("console error", self.console_errors),
                ("page error", self.page_errors),
                ("HTTP error response", self.http_errors),
                ("request to a non-local host (aborted)", self.external_requests),
            )
            for text in bucket
        ]
        return [line for line in lines if not any(p.search(line) for p in self._allowed)]


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.fail(
            f"Playwright for Python is not installed ({exc}); install the test extras "
            "(pip install -e '.[test]')",
            pytrace=False,
        )
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium. "
            "Run .ci/install-browser.sh (as root) to install it.",
            pytrace=False,
        )
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser, page_problems: PageProblems) -> Iterator[object]:
    context = browser.new_context(
        viewport=VIEWPORT,
        locale=LOCALE,
        timezone_id=TIMEZONE,
        service_workers="block",
    )
    problems = page_problems

    def on_route(route) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            problems.external_requests.append(f"{route.request.method} {url}")
            route.abort("blockedbyclient")

    # Routed on the context, so popups and workers opened by the page are covered too.
    context.route("**/*", on_route)
    page = context.new_page()

    def on_console(msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            where = f" ({loc.get('url')}:{loc.get('lineNumber')})" if loc.get("url") else ""
            problems.console_errors.append(f"{msg.text}{where}")

    def on_response(response) -> None:
        if response.status >= 400:
            problems.http_errors.append(
                f"{response.status} {response.request.method} {response.url}"
            )

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    page.on("response", on_response)
    # Generous: a loaded CI machine may take seconds to start an instance (the first script
    # starts the worker pool); what is asserted is the same.
    page.set_default_timeout(30_000)

    try:
        yield page
    finally:
        context.close()

    found = problems.report()
    if found:
        pytest.fail(
            f"{len(found)} browser problem(s) during the test:\n  " + "\n  ".join(found),
            pytrace=False,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test's body and before any teardown (the live server stops before the page
    fixture closes the browser), let an instance page's diagram arrive."""
    yield
    page = getattr(item, "funcargs", {}).get("page")
    if page is not None:
        _let_the_diagram_arrive(page)


def _let_the_diagram_arrive(page) -> None:
    """An instance page fetches its diagram once it has loaded (manage-diagram.js). A test that
    ends on such a page would stop the server and close the browser with the request in
    flight, which Chromium reports as a console error no user sees (net::ERR_CONNECTION_RESET,
    ERR_SOCKET_NOT_CONNECTED): wait for the viewer, which sets ``__diagramReady`` whether it
    drew the diagram or not. A viewer that never finishes still fails the test: its aborted
    request is reported as before."""
    try:
        if page.evaluate("() => window.__diagramReady === false"):
            page.wait_for_function("window.__diagramReady === true", timeout=15_000)
    except PlaywrightError:
        return  # the page is gone or mid-navigation: nothing of it left to wait for


def take_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` as tests/screenshots/<name>.png and return its path."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("_") or "screenshot"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def take_readme_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """A screenshot the README shows: saved like any other, and copied over the README's image
    only when ``PLANFLOW_README_SCREENSHOTS=1`` asks for it (a test run must not rewrite
    tracked files)."""
    path = take_screenshot(page, name, full_page=full_page)
    if os.environ.get("PLANFLOW_README_SCREENSHOTS") == "1":
        README_SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT_DIR / path.name)
    return path


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, "name")`` -> tests/screenshots/name.png"""
    return take_screenshot


# --- the real app on a real socket ------------------------------------------------------------


class LiveServer:
    def __init__(self, url: str, ctx: object, password: str | None = None) -> None:
        self.url = url
        self.ctx = ctx
        self.password = password  # everyone's (None: tests/conftest.py's PASSWORD)

    def login(
        self, page: object, username: str, password: str | None = None, then: str | None = None
    ) -> None:
        """Log in; with ``then``, land on that page (the login form carries it as ``next``)."""
        from tests.conftest import PASSWORD

        page.goto(f"{self.url}/login" + (f"?next={then}" if then else ""))  # type: ignore[attr-defined]
        page.fill("#username", username)  # type: ignore[attr-defined]
        page.fill("#password", password or self.password or PASSWORD)  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
        if then:
            page.wait_for_url(f"{self.url}{then}")  # type: ignore[attr-defined]
        page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]


@contextmanager
def serving(ctx: object, password: str | None = None) -> Iterator[LiveServer]:
    """planflow on ``ctx`` at 127.0.0.1 (ephemeral port), in a thread, until the block ends
    (``password``: its users', when not tests/conftest.py's)."""
    import threading

    from werkzeug.serving import make_server

    from web import create_app

    app = create_app({"TESTING": True}, context=ctx)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", ctx, password)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        ctx.db.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """planflow on 127.0.0.1 (ephemeral port) with a fresh SQLite database, the staff users of
    tests/conftest.py, the test models and the department's models from bpmn/ deployed."""
    from engine.context import build_context
    from engine.store.migrate import upgrade
    from tests.conftest import MODELS, deploy_fixture, make_settings, make_staff

    ctx = build_context(make_settings(f"sqlite:///{tmp_path / 'live.sqlite3'}", tmp_path))
    upgrade(ctx.db)
    make_staff(ctx)
    deploy_fixture(ctx)
    bpmn_dir = PROJECT_ROOT / "bpmn"
    if any(bpmn_dir.glob("*.bpmn")):
        from engine.store.db import transaction
        from engine.usecases.deploy import deploy, uploads_from_paths

        with transaction(ctx.sessions) as session:
            deploy(ctx, session, uploads_from_paths([bpmn_dir]), "owner")
    assert MODELS.exists()
    with serving(ctx) as server:
        yield server


DEMO_PASSWORD = "demo-password-1"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    """planflow serving exactly what `planflow demo` loads (its users, with DEMO_PASSWORD, its
    models and instances) on a fresh SQLite database: what the README's screenshots show."""
    from engine.context import build_context
    from tests.conftest import make_settings
    from web.demo import load_demo

    ctx = build_context(make_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path))
    said = list(load_demo(ctx, DEMO_PASSWORD))
    assert said[-1].startswith("演示数据已就绪"), said
    with serving(ctx, DEMO_PASSWORD) as server:
        yield server
