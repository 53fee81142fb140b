"""Debian's chromium driven by Playwright, and the manager UI it drives (web UI tests).

``browser`` starts one headless chromium per module; ``ui`` serves the Certificate
Manager on loopback over the actors' keystore folder, talking to the session's
platform with the platform's clock. The footer shows the folder as
``~/ehealth/keystore`` (the default), so screenshots show no temporary path.

With ``EHCERT_SCREENSHOTS=DIR`` set, :func:`shot` saves each step as ``DIR/<name>.png``
(``make screenshots`` regenerates the user guide's images that way).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import sync_playwright
from tests.conftest import without_faketime

from ehcert.manager.web.app import ManagerSettings
from ehcert.manager.web.security import new_secret
from ehcert.manager.web.server import bind_loopback, running_ui

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from tests.e2e.conftest import Actors, RunningPlatform

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = os.environ.get("EHCERT_SCREENSHOTS")
SHOWN_FOLDER = "~/ehealth/keystore"


@contextmanager
def _children_without_faketime() -> Iterator[dict[str, str]]:
    """``os.environ`` without libfaketime while Playwright starts its driver, whose
    environment it copies; yields that environment for the browser too. Under
    ``make test-future`` the driver and chromium would otherwise run with the wall clock
    moved, and chromium then stalls now and then for longer than a navigation's timeout.
    Only the platform and the manager need the moved clock; the browser shows their pages
    and keeps their cookies, which expire by the platform's clock, later than its own."""
    saved = dict(os.environ)
    clean = without_faketime(saved)
    os.environ.clear()
    os.environ.update(clean)
    try:
        yield clean
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run scripts/install-system-deps.sh"
    with _children_without_faketime() as environment:
        playwright_context = sync_playwright()
        playwright = playwright_context.start()
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=environment
        )
    try:
        yield launched
    finally:
        launched.close()
        playwright.stop()


@pytest.fixture
def ui(env: RunningPlatform, actors: Actors) -> Iterator[str]:
    """The manager UI on loopback over the actors' keystore folder; yields its secret URL."""
    settings = ManagerSettings(
        keystore_dir=actors.directory / "keystores",
        platform_url=env.url,
        secret=new_secret(),
        clock=env.clock,
        key_size=2048,
        keystore_dir_label=SHOWN_FOLDER,
    )
    with running_ui(settings, bind_loopback(0)) as url:
        yield url


def new_page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


@pytest.fixture
def english(browser: Browser) -> Iterator[Page]:
    page = new_page(browser, "en-GB")
    yield page
    page.context.close()


@pytest.fixture
def french(browser: Browser) -> Iterator[Page]:
    page = new_page(browser, "fr-BE")
    yield page
    page.context.close()


def shot(page: Page, name: str) -> None:
    """Save the page as ``<name>.png`` when screenshots are asked for."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def wait_for_job(page: Page, finished: str) -> None:
    """The progress page refreshes itself until the job ends with ``finished`` as heading."""
    page.get_by_role("heading", name=finished).wait_for()


def card(page: Page, title: str) -> str:
    return page.locator("article", has=page.get_by_role("heading", name=title)).inner_text()


def unlock(page: Page, password: str) -> None:
    page.get_by_label("Password of this keystore").first.fill(password)
    page.get_by_role("button", name="Unlock").first.click()
