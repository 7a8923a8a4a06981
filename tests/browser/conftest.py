"""Fixtures for journeys in a real browser: a live portal server and Chromium pages.

`live_server` serves the portal (CSRF on, as in production) from a SQLite copy of the
migrated template database, in a thread of this process; tests arrange data through
`live_server.app` against the same file. `browser` is Debian's Chromium driven by
Playwright; without it the tests are skipped, unless REQUIRE_BROWSER=1 (CI), where they
fail. `page` is a fresh browser context (own cookies) per test, in English.

Every page of that context is watched: a test fails at teardown if the browser refused
something under the Content-Security-Policy (portal/security.py), htmx was asked to
evaluate code (allowEval is off), or a script threw. Pages of other contexts a test opens
itself can be watched with `watch(page, problems)`.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import babel, db

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveServer:
    """A running portal: its base URL and the app (for arranging data in the same database)."""

    url: str
    app: Flask

    def __str__(self) -> str:
        return self.url


@pytest.fixture
def live_config() -> dict:
    """Extra configuration for `live_server`; a test module overrides it to add some."""
    return {}


@pytest.fixture
def live_server(sqlite_template, tmp_path, live_config) -> Iterator[LiveServer]:
    """The portal served on 127.0.0.1 (a free port) over a fresh SQLite database."""
    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "TESTING": True,
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": True,
            "SERVER_NAME": None,
            **live_config,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def chromium_path() -> str | None:
    """Debian's Chromium binary, if installed."""
    return next((p for p in CHROMIUM_PATHS if os.path.exists(p)), None)


@pytest.fixture(scope="session")
def browser():
    """Chromium launched once per session through Playwright's sync API."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (REQUIRE_BROWSER=1) but is not installed")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Console messages that mean the page broke the rules.
PROBLEMS = ("Content Security Policy", "Refused to", "evalDisallowed")
# Chromium logs CSP violations to the console; this also reports them from the page itself
# (Playwright's init scripts are not subject to the page's CSP).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const target = event.target;
  const element = target instanceof Element
    ? ` on <${target.localName}${target.id ? " id=" + target.id : ""}>` : "";
  const where = `${event.sourceFile}:${event.lineNumber}`;
  console.error(`Content Security Policy violation: ${event.violatedDirective} `
    + `blocked ${event.blockedURI || "inline"}${element} at ${where}`);
});
"""


def watch(page, problems: list[str]) -> None:
    """Append to `problems` what `page` logs about CSP violations, eval and script errors."""

    def console(message) -> None:
        if any(marker in message.text for marker in PROBLEMS):
            problems.append(f"{page.url}: console {message.type}: {message.text}")

    def page_error(error) -> None:
        problems.append(f"{page.url}: page error: {error}")

    page.on("console", console)
    page.on("pageerror", page_error)


@pytest.fixture
def page(browser):
    """A new page in its own browser context (no shared cookies), English locale.

    The test fails at teardown if any page of the context broke the CSP or threw.
    """
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(REPORT_VIOLATIONS)
    problems: list[str] = []
    context.on("page", lambda opened: watch(opened, problems))
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
    if problems:
        pytest.fail("The browser reported:\n" + "\n".join(dict.fromkeys(problems)), pytrace=False)


def log_in(page, url: str, email: str, landing: str = r"/admin$") -> None:
    """Log in through the login form as `email` (role password) and land on `landing`."""
    from playwright.sync_api import expect

    from ..conftest import ROLE_PASSWORD

    page.context.clear_cookies()
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", ROLE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(landing))


CATALOGS = Path(__file__).resolve().parents[2] / "portal" / "translations"


def compiled_catalogs(folder: Path) -> dict:
    """The catalogs as they are in the repository, compiled into `folder` (not by make):
    the live_config of a test module that checks translated pages."""
    for po in CATALOGS.glob("*/LC_MESSAGES/messages.po"):
        target = folder / po.relative_to(CATALOGS).with_suffix(".mo")
        target.parent.mkdir(parents=True)
        with open(po, "rb") as source, open(target, "wb") as out:
            write_mo(out, read_po(source, locale=po.parts[-3]))
    return {"BABEL_TRANSLATION_DIRECTORIES": str(folder)}


@pytest.fixture
def server(live_server):
    """The live server, with Flask-Babel's translations cache (kept on the process-wide
    Babel, shared by every app of the test run) emptied before and after: another test's
    catalogs must not answer for these."""

    def forget() -> None:
        with live_server.app.app_context():
            babel.domain_instance.cache.clear()

    forget()
    yield live_server
    forget()
