"""Browser tests: Debian's Chromium (/usr/bin/chromium, installed by scripts/install-browser.sh) driven
by Playwright's Python package, which brings only its driver: nothing downloads a browser.

``site`` is a real deployment (a server process on PostgreSQL and a private Redis, with the demo data
and the demo sign-in on); ``open_page`` gives a page signed in as a demo account, at a phone or desktop
size, in Chinese or English. ``shoot`` saves a screenshot under ``SCREENSHOT_DIR`` (default
``var/screenshots``; ``docs/screenshots`` holds the committed set).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, running_cluster
from tests.support import IN_CI

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SIZES = {"phone": (390, 844), "desktop": (1440, 900)}
LOCALES = {"zh-CN": "zh-CN", "en": "en-US"}
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", "var/screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]

OpenPage = Callable[..., Any]


@pytest.fixture(scope="module")  # not longer: Playwright's sync API holds an event loop in this thread
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh")
        pytest.skip(f"{CHROMIUM} is missing (scripts/install-browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One server on PostgreSQL and a private Redis, the demo seeded, the demo sign-in on."""
    with running_cluster(
        tmp_path_factory.mktemp("site"),
        servers=1,
        DEMO_SIGN_IN="true",
        LOG_LEVEL="WARNING",
        PUBLIC_URL="auto",
    ) as cluster:
        yield cluster


@pytest.fixture
def open_page(browser: Any, site: Cluster) -> Iterator[OpenPage]:
    """open_page(path, who=None, size="phone", lang="en") -> a Playwright page, signed in as ``who`` (a
    demo account label, e.g. "viewer_1") or a guest. Pages record their console errors in
    ``page.errors`` and the console's errors in ``page.console_errors``."""
    contexts: list[Any] = []

    def open_(path: str, who: str | None = None, size: str = "phone", lang: str = "en") -> Any:
        width, height = SIZES[size]
        ctx = browser.new_context(
            viewport={"width": width, "height": height},
            locale=LOCALES[lang],
            is_mobile=size == "phone",
            has_touch=size == "phone",
            device_scale_factor=1,
        )
        contexts.append(ctx)
        script = f"localStorage.setItem('yc.lang', {lang!r});"
        if who is not None:
            script += f"localStorage.setItem('yc.token', {site.tokens[who]!r});"
        ctx.add_init_script(
            f"if (!sessionStorage.getItem('yc.init')) {{ {script} sessionStorage.setItem('yc.init', '1'); }}"
        )
        page = ctx.new_page()
        page.errors = []
        page.console_errors = []  # e.g. a Content-Security-Policy refusal
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.set_default_timeout(10_000)
        page.goto(site.http[0] + path)
        return page

    try:
        yield open_
    finally:
        for ctx in contexts:
            ctx.close()


def shoot(page: Any, name: str, size: str, lang: str) -> Path:
    """Save a full-page screenshot as ``{name}-{size}-{lang}.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}-{size}-{lang}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


ADDRESS = {
    "name": "Wang Fang",
    "phone": "+86 139 0000 0000",
    "line1": "1 Nanjing Road",
    "city": "Shanghai",
    "country": "CN",
}


def fill_address(sheet: Any, address: dict[str, str] = ADDRESS) -> None:
    """Fill the room page's buy sheet's address fields."""
    for field, value in address.items():
        sheet.get_by_test_id(f"address-{field}").fill(value)
