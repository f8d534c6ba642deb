"""Fixtures for browser tests: a real JupyterLab server and headless Chromium via Playwright.

Fixtures:

* ``jupyter_server`` (session): a running ``jupyter lab`` — a
  :class:`tests.browser.jupyter.JupyterServer` with ``url``, ``token``, ``root_dir``
  (write notebooks there) and ``log_path``. Kernels are shut down after each test that
  uses ``page``; the server itself (and any kernel left) at the end of the session.
* ``browser`` (session): Playwright's Chromium, launched from ``/usr/bin/chromium``
  (or ``$BROWSER_TEST_CHROMIUM``). Skips the test if it is missing, fails under
  ``CI=true``.
* ``color_scheme`` (function): ``"light"``; override per test with
  ``@pytest.mark.parametrize("color_scheme", ["dark"])``. JupyterLab follows it
  (adaptive theme), and so does CSS ``prefers-color-scheme``.
* ``page`` (function): a fresh browser context (1400×900, ``base_url`` = the server's
  URL) and page. When the test fails, its report gets a "browser" section: the path of a
  screenshot, the browser console's errors and warnings, and the end of the server log.

Every test module here must set ``pytestmark = pytest.mark.browser``; run the suite alone
with ``pytest -m browser`` (or ``pytest tests/browser``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.jupyter import (
    JupyterServer,
    JupyterServerError,
    running_jupyter_server,
    screenshot,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}

_debug_info = pytest.StashKey[Callable[[], str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Add a "browser" section (screenshot, console, server log) to a failed test's report."""
    report = yield
    debug_info = item.stash.get(_debug_info, None)
    if report.failed and report.when == "call" and debug_info is not None:
        report.sections.append(("browser", debug_info()))
    return report


def _skip_or_fail(reason: str) -> None:
    """Browser tests are optional locally but must not silently vanish on CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so this is an error)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A ``jupyter lab`` on a free port of 127.0.0.1, serving a temporary root dir."""
    root_dir = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(running_jupyter_server(root_dir, home))
        except JupyterServerError as error:
            pytest.fail(str(error), pytrace=False)
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium (the system one: Playwright's own browsers are not needed)."""
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def color_scheme() -> str:
    """The context's ``prefers-color-scheme``: ``"light"`` unless a test parametrizes it."""
    return "light"


@pytest.fixture
def page(
    browser: Browser,
    jupyter_server: JupyterServer,
    color_scheme: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Page]:
    """A page in a fresh context; kernels started by the test are shut down afterwards."""
    context = browser.new_context(
        viewport=VIEWPORT, color_scheme=color_scheme, base_url=jupyter_server.url
    )
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    request.node.stash[_debug_info] = lambda: _debug_text(page, jupyter_server, console, tmp_path)
    try:
        yield page
    finally:
        context.close()
        jupyter_server.shutdown_kernels()


def _debug_text(page: Page, server: JupyterServer, console: list[str], tmp_path: Path) -> str:
    """What helps to debug a failed browser test: screenshot, console errors, server log."""
    try:
        shot = f"screenshot: {screenshot(page, tmp_path / 'failure.png')}"
    except Exception as error:  # the page may be gone; the rest is still useful
        shot = f"no screenshot: {error!r}"
    lines = [shot, "browser console (errors and warnings):"]
    lines += [f"  {line}" for line in console[-30:] or ["(none)"]]
    lines.append(f"end of the server log ({server.log_path}):")
    lines += [f"  {line}" for line in server.log().splitlines()[-40:]]
    return "\n".join(lines)
