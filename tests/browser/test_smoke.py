"""The landing page and the demo sign-in in a real browser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage, shoot
from tests.e2e.cluster import Cluster


def test_landing_lists_the_demo_room_and_signs_in_with_one_click(open_page: OpenPage, site: Cluster) -> None:
    page: Any = open_page("/", lang="en")
    expect(page.get_by_test_id("upcoming-room").first).to_contain_text("Evening live")
    page.get_by_test_id("sign-in").click()
    page.locator("[data-account=viewer_1]").click()
    page.wait_for_url(site.http[0] + "/")
    expect(page.get_by_test_id("who")).to_have_text("viewer 1")
    assert page.errors == [] and page.console_errors == []


def test_pages_speak_chinese_and_switch_to_english(open_page: OpenPage) -> None:
    page: Any = open_page("/", lang="zh-CN")
    expect(page.locator("h2").first).to_have_text("正在直播")
    page.get_by_test_id("lang").click()
    expect(page.locator("h2").first).to_have_text("Live now")


def test_pages_and_static_files_are_served_under_their_paths(site: Cluster) -> None:
    base = site.http[0]
    for path in ("/", "/live/1", "/studio", "/shop", "/staff", "/sign-in", "/docs", "/orders"):
        r = httpx.get(base + path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
    js = httpx.get(base + "/static/lib/channel.js", headers={"Accept-Encoding": "gzip"})
    assert js.headers["content-encoding"] == "gzip"
    assert httpx.get(base + "/static/%2e%2e/__init__.py").status_code == 404  # nothing outside static/
    assert httpx.get(base + "/demo/accounts").status_code == 200  # this site turned it on


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_screenshots_of_the_landing_and_sign_in_pages(open_page: OpenPage, size: str, lang: str) -> None:
    page: Any = open_page("/", who="viewer_1", size=size, lang=lang)
    expect(page.get_by_test_id("upcoming-room").first).to_be_visible()
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    shoot(page, "landing", size, lang)
    page = open_page("/sign-in", size=size, lang=lang)
    expect(page.get_by_test_id("demo-accounts")).to_be_visible()
    shoot(page, "sign-in", size, lang)
