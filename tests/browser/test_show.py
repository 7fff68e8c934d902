"""A whole show across the pages, by clicking, as a newcomer to the demo would: the streamer goes live
from the studio with the test pattern, two viewers watch on their phones, the streamer flips a listing
to grab now and the viewer's buy button turns on within a second, the viewer buys the last unit and pays
on the sandbox page, both viewers see sold out and the studio's figures move; the shop operator ships
the order in the shop console and reads the room's chart; staff force-end the room from the staff
console and the viewer sees the ended screen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage, fill_address, shoot
from tests.e2e.cluster import Cluster, running_cluster


@pytest.fixture(scope="module", params=["postgresql-redis", "embedded"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The show on a deployment (PostgreSQL, Redis) and on the embedded defaults `make run` uses
    (SQLite, the in-process broker): the demo must hold on a bare machine too."""
    with running_cluster(
        tmp_path_factory.mktemp("show"),
        servers=1,
        embedded=request.param == "embedded",
        DEMO_SIGN_IN="true",
        LOG_LEVEL="WARNING",
        PUBLIC_URL="auto",
    ) as cluster:
        yield cluster


def _cart(site: Cluster) -> list[dict[str, Any]]:
    r = httpx.get(f"{site.http[0]}/rooms/{site.room_id}/cart", timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["listings"])


def _video_advances(page: Any) -> None:
    video = page.get_by_test_id("video")
    expect(video).to_be_visible(timeout=20_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=video]'); return v && v.currentTime > 0.3; }",
        timeout=20_000,
    )
    first = page.evaluate("document.querySelector('[data-testid=video]').currentTime")
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=video]').currentTime > {first} + 0.5", timeout=10_000
    )


def test_a_whole_show_across_the_pages(open_page: OpenPage, site: Cluster) -> None:
    room_id = site.room_id
    tea = next(x for x in _cart(site) if x["product"]["title"].startswith("Green tea"))

    # the streamer opens the studio, picks the demo's scheduled room and goes live with the test pattern
    studio: Any = open_page("/studio", who="streamer", size="desktop")
    studio.locator(f"[data-testid=room-item][data-room='{room_id}']").click()
    studio.get_by_test_id("source").select_option("pattern")
    studio.get_by_test_id("go-live").click()
    expect(studio.get_by_test_id("stream-state")).to_have_attribute(
        "data-state", "publishing", timeout=20_000
    )
    expect(studio.get_by_test_id("room-state")).to_contain_text("Live", timeout=15_000)

    # two viewers on their phones: the video plays over WHEP
    viewer: Any = open_page(f"/live/{room_id}", who="viewer_1")
    other: Any = open_page(f"/live/{room_id}", who="viewer_2", lang="zh-CN")
    _video_advances(viewer)
    # online: the two viewers and the studio's own connection
    expect(studio.get_by_test_id("fig-online").locator("b")).to_have_text("3", timeout=10_000)

    # the streamer allots one unit and flips the listing to grab now: the buy button turns on in 1 s
    listing = studio.locator(f"[data-testid=listing][data-listing='{tea['id']}']")
    listing.get_by_test_id("edit-stock").click()
    listing.get_by_test_id("stock-units").fill("1")
    listing.get_by_test_id("stock-save").click()
    expect(listing.get_by_test_id("listing-stock")).to_contain_text("1", timeout=5_000)
    viewer.get_by_test_id("cart-button").click()
    row = viewer.locator(f"[data-testid=listing][data-listing='{tea['id']}']")
    expect(row.get_by_test_id("buy")).to_be_disabled()
    listing.get_by_test_id("move-on_sale").click()
    clicked = time.monotonic()
    expect(row.get_by_test_id("buy")).to_be_enabled(timeout=1_000)
    flip_seconds = time.monotonic() - clicked
    assert flip_seconds <= 1.0, flip_seconds

    # the viewer buys the last unit and pays on the sandbox page
    row.get_by_test_id("buy").click()
    sheet = viewer.get_by_test_id("buy-sheet")
    fill_address(sheet)
    sheet.get_by_test_id("place-order").click()
    expect(sheet.get_by_test_id("order-status")).to_have_attribute("data-status", "pending_payment")
    for page in (viewer, other):  # the last unit went: both viewers see sold out
        expect(page.locator(f"[data-testid=listing][data-listing='{tea['id']}']")).to_have_attribute(
            "data-status", "sold_out", timeout=5_000
        )
    with viewer.expect_popup() as popup:
        sheet.get_by_test_id("pay").click()
    bank = popup.value
    bank.wait_for_load_state()
    bank.get_by_role("button", name="Pay now").click()
    expect(bank.locator("body")).to_contain_text("Status: paid")
    expect(sheet.get_by_test_id("order-status")).to_have_attribute("data-status", "paid", timeout=10_000)
    bank.close()

    # the studio's figures move
    expect(studio.get_by_test_id("fig-orders").locator("b")).to_have_text("1", timeout=5_000)
    expect(studio.get_by_test_id("fig-gmv").locator("b")).to_have_text("¥99.00", timeout=5_000)
    expect(listing.get_by_test_id("listing-status")).to_contain_text("Sold out")

    # the shop operator ships the order and reads the room's report with its chart
    order_id = httpx.get(f"{site.http[0]}/me/orders", headers=site.auth("viewer_1"), timeout=10).json()[
        "items"
    ][0]["id"]
    shop: Any = open_page("/shop?tab=orders", who="shop_operator", size="desktop")
    order = shop.locator(f"[data-testid=order][data-order='{order_id}']")
    order.get_by_test_id("ship").click()
    order.locator("input[name=carrier]").fill("SF Express")
    order.locator("input[name=tracking_no]").fill("SF2026120200001")
    order.get_by_test_id("confirm-ship").click()
    expect(order).to_have_attribute("data-status", "shipped")
    shop.locator("[data-tab=rooms]").click()
    shop.locator(f"[data-testid=room][data-room='{room_id}']").get_by_test_id("open-report").click()
    expect(shop.get_by_test_id("fig-orders").locator("b")).to_have_text("1")
    expect(shop.get_by_test_id("chart-gmv").locator(".uplot canvas")).to_be_visible()

    # staff force-end the room from the staff console: the viewer sees the ended screen
    staff: Any = open_page("/staff", who="platform_staff", size="desktop")
    room_row = staff.locator(f"[data-testid=staff-room][data-room='{room_id}']")
    room_row.get_by_test_id("force-end").click()
    room_row.get_by_test_id("force-end-reason").fill("the show broke the rules")
    room_row.get_by_test_id("force-end-confirm").click()
    expect(room_row).to_have_attribute("data-state", "force_ended")
    expect(viewer.get_by_test_id("ended")).to_be_visible(timeout=10_000)
    expect(other.get_by_test_id("ended")).to_be_visible(timeout=10_000)
    shoot(viewer, "room-ended", "phone", "en")
    shoot(other, "room-ended", "phone", "zh-CN")
    for page in (studio, viewer, other, shop, staff):
        assert page.errors == [], page.errors
