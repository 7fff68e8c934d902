"""The shop console (/shop) in a real browser: shipping paid orders one by one and in bulk, a room's report
with its uPlot charts, a new shop's application through staff's decisions, products with SKUs, members
and room admins, and what a viewer gets (no controls; the API refuses them)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import expect

from commerce.core.identity import Role
from live.auth import TokenService
from tests.browser.conftest import OpenPage, shoot
from tests.e2e.buying import ADDRESS
from tests.e2e.cluster import Cluster
from tests.support import settings_for

DASH = "\N{EN DASH}"  # between a product's lowest and highest price


def call(site: Cluster, who: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {**kw.pop("headers", {}), **(site.auth(who) if who else {})}
    return httpx.request(method, site.http[0] + path, headers=headers, timeout=10, **kw)


def ok(resp: httpx.Response, status: int = 200) -> Any:
    where = f"{resp.request.method} {resp.request.url}"
    assert resp.status_code == status, f"{where}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def yuan(minor: int) -> str:
    return f"¥{minor // 100:,}.{minor % 100:02d}"


@dataclass
class Sale:
    """The demo room live with its T-shirt listing on sale; buying and paying through the API."""

    site: Cluster
    room_id: int
    listing_id: int
    sku_id: int
    shop_id: int

    def paid_order(self, buyer: str = "viewer_1") -> dict[str, Any]:
        return self.paid_orders(buyer)[0]

    def paid_orders(self, *buyers: str) -> list[dict[str, Any]]:
        """Each buyer orders one unit and pays on the sandbox's page; returns the orders once paid."""
        placed = []
        for buyer in buyers:
            order = ok(
                call(
                    self.site,
                    buyer,
                    "POST",
                    f"/rooms/{self.room_id}/listings/{self.listing_id}/orders",
                    json={"sku_id": self.sku_id, "quantity": 1, "address": ADDRESS},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                ),
                201,
            )
            checkout = ok(call(self.site, buyer, "POST", f"/orders/{order['id']}/pay"))
            page = httpx.get(checkout["pay_url"], timeout=10)  # the page a person clicks through
            action = page.text.split('action="', 1)[1].split('"', 1)[0]
            clicked = httpx.post(urljoin(checkout["pay_url"], action), timeout=10)
            assert clicked.status_code == 303, clicked.text
            placed.append((buyer, order["id"]))
        paid: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + 10  # the sandbox notifies the server about once a second
        while len(paid) < len(placed) and time.monotonic() < deadline:
            for buyer, order_id in placed:
                got = ok(call(self.site, buyer, "GET", f"/orders/{order_id}"))
                if got["status"] == "paid":
                    paid[order_id] = got
            time.sleep(0.2)
        assert len(paid) == len(placed), f"not paid in time: {placed} {list(paid)}"
        return [paid[i] for _, i in placed]


@pytest.fixture(scope="module")
def sale(site: Cluster) -> Iterator[Sale]:
    rid = site.room_id
    ok(call(site, "streamer", "POST", f"/rooms/{rid}/start"))
    cart = ok(call(site, None, "GET", f"/rooms/{rid}/cart"))
    tee = next(x for x in cart["listings"] if x["product"]["title"] == "Cotton T-shirt")
    ok(call(site, "shop_operator", "PUT", f"/rooms/{rid}/listings/{tee['id']}/stock", json={"stock": 500}))
    on_sale = {"status": "on_sale"}
    ok(call(site, "streamer", "POST", f"/rooms/{rid}/listings/{tee['id']}/status", json=on_sale))
    yield Sale(site, rid, tee["id"], tee["skus"][0]["id"], site.demo["shop_id"])


def order_row(page: Any, order_id: int) -> Any:
    return page.locator(f"[data-testid=order][data-order='{order_id}']")


def test_the_operator_ships_an_order_then_two_at_once(open_page: OpenPage, sale: Sale, site: Cluster) -> None:
    one, two, three = sale.paid_orders("viewer_1", "viewer_2", "viewer_2")
    page: Any = open_page("/shop?tab=orders", who="shop_operator", size="desktop")
    row = order_row(page, one["id"])
    expect(row.get_by_test_id("order-status")).to_contain_text("Paid, awaiting shipment")
    expect(row).to_contain_text("¥59.00")
    row.get_by_test_id("ship").click()
    row.locator("input[name=carrier]").fill("SF Express")
    row.locator("input[name=tracking_no]").fill("bad tracking!")  # the server's refusal is shown
    row.get_by_test_id("confirm-ship").click()
    expect(row.get_by_test_id("error")).to_have_attribute("data-code", re.compile(r"\w+"))
    row.locator("input[name=tracking_no]").fill("SF1000000001")
    row.get_by_test_id("confirm-ship").click()
    expect(row).to_have_attribute("data-status", "shipped")
    expect(row.get_by_test_id("tracking")).to_contain_text("SF1000000001")
    row.get_by_test_id("order-history").click()
    expect(row.locator("[data-testid=history-row] [data-to=shipped]")).to_contain_text("Shipped")
    assert ok(call(site, "viewer_1", "GET", f"/orders/{one['id']}"))["tracking_no"] == "SF1000000001"

    page.get_by_test_id("filter-status").select_option("paid")
    expect(order_row(page, one["id"])).to_have_count(0)
    for o in (two, three):
        order_row(page, o["id"]).get_by_test_id("pick").check()
    page.get_by_test_id("open-bulk-ship").click()
    bulk = page.get_by_test_id("bulk-ship")
    bulk.locator("input[name=carrier]").fill("ZTO")
    for o in (two, three):
        bulk.locator(f"input[name=tracking_{o['id']}]").fill(f"ZTO{o['id']:08d}")
    bulk.get_by_test_id("confirm-bulk-ship").click()
    expect(page.locator("[data-testid=bulk-results] [data-ok=true]")).to_have_count(2)
    expect(order_row(page, two["id"])).to_have_count(0)  # the list shows paid orders only
    page.get_by_test_id("filter-status").select_option("shipped")
    for o in (two, three):
        expect(order_row(page, o["id"])).to_have_attribute("data-status", "shipped")
        got = ok(call(site, "viewer_2", "GET", f"/orders/{o['id']}"))
        assert (got["status"], got["carrier"], got["tracking_no"]) == ("shipped", "ZTO", f"ZTO{o['id']:08d}")
    page.get_by_test_id("filter-to").fill("2020-01-01T00:00")  # placed before then: none
    expect(page.get_by_test_id("order")).to_have_count(0)
    expect(page.get_by_test_id("orders")).to_contain_text("No orders match.")
    page.get_by_test_id("filter-to").fill("")
    page.get_by_test_id("filter-from").fill("2020-01-01T00:00")
    expect(order_row(page, three["id"])).to_be_visible()
    assert page.errors == []


def test_the_room_report_shows_its_figures_and_charts(open_page: OpenPage, sale: Sale, site: Cluster) -> None:
    sale.paid_order("viewer_1")
    report = ok(call(site, "shop_operator", "GET", f"/rooms/{sale.room_id}/report"))
    assert report["orders"] >= 1 and report["series"]
    page: Any = open_page("/shop?tab=rooms", who="shop_operator", size="desktop")
    page.locator(f"[data-testid=room][data-room='{sale.room_id}']").get_by_test_id("open-report").click()
    expect(page.get_by_test_id("fig-orders").locator("b")).to_have_text(str(report["orders"]))
    expect(page.get_by_test_id("fig-gmv").locator("b")).to_have_text(yuan(report["gmv_minor"]))
    tee = page.locator(f"[data-testid=report-listing][data-listing='{sale.listing_id}']")
    expect(tee).to_contain_text("Cotton T-shirt")
    for chart in ("chart-viewers", "chart-orders", "chart-gmv"):
        expect(page.get_by_test_id(chart).locator(".uplot canvas")).to_be_visible()
    drawn = page.evaluate(
        """() => { const c = document.querySelector('[data-testid=chart-orders] .uplot canvas');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) n++; return n; }"""
    )
    assert drawn > 500, "the orders chart's canvas is blank"
    assert "room=" in page.url  # a reload comes back to the report
    page.reload()
    expect(page.get_by_test_id("report")).to_have_attribute("data-room", str(sale.room_id))
    assert page.errors == []


def test_a_new_shop_applies_is_rejected_applies_again_and_is_approved(
    open_page: OpenPage, site: Cluster
) -> None:
    user = f"new-op-{uuid.uuid4().hex[:6]}"
    tokens = TokenService(settings_for(site.env["DATABASE_URL"]))
    site.tokens["new_operator"] = tokens.issue(user, [Role.SHOP_OPERATOR, Role.VIEWER], name="new operator")
    page: Any = open_page("/shop", who="new_operator", size="phone")
    form = page.get_by_test_id("apply-form")
    expect(form.locator("[data-testid=conditions] li")).to_have_count(6)
    fields = {
        "name": f"Tea House {user}",
        "category": "food",
        "contact_name": "Zhao Min",
        "contact_phone": "+86 137 0000 0000",
        "business_license_no": "bad licence",
    }
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    expect(form.get_by_test_id("apply")).to_be_disabled()  # the conditions are not accepted yet
    form.locator("input[name=accept]").check()
    form.get_by_test_id("apply").click()
    expect(form.get_by_test_id("error")).to_be_visible()  # the server refuses the licence number
    form.locator("[name=business_license_no]").fill("91330000TEA0001X")
    form.get_by_test_id("apply").click()
    expect(page.get_by_test_id("shop-status").locator(".badge")).to_have_attribute("data-status", "applied")
    expect(page.get_by_test_id("shop-status")).to_contain_text("Pending review")

    me = ok(call(site, "new_operator", "GET", "/me"))
    shop_id = me["shops"][0]["shop_id"]
    decide = f"/staff/shops/{shop_id}/decisions"
    reject = {"decision": "reject", "reason": "licence unreadable"}
    ok(call(site, "platform_staff", "POST", decide, json=reject))
    page.get_by_test_id("refresh-shop").click()
    expect(page.get_by_test_id("shop-status").locator(".badge")).to_have_attribute("data-status", "rejected")
    expect(page.get_by_test_id("status-reason")).to_contain_text("licence unreadable")
    again = page.get_by_test_id("apply-form")
    expect(again.locator("[name=contact_name]")).to_have_value("Zhao Min")  # the application as it was
    again.locator("[name=business_license_no]").fill("91330000TEA0002X")
    again.locator("input[name=accept]").check()
    again.get_by_test_id("apply").click()
    expect(page.get_by_test_id("shop-status").locator(".badge")).to_have_attribute("data-status", "applied")

    ok(call(site, "platform_staff", "POST", decide, json={"decision": "approve"}))
    page.reload()
    expect(page.get_by_test_id("shop-status").locator(".badge")).to_have_attribute("data-status", "approved")
    history = page.get_by_test_id("shop-history")
    # applied, rejected, applied again, approved
    expect(history.locator("[data-testid=history-row]")).to_have_count(4)
    expect(history.locator("[data-to=rejected]").locator("xpath=..")).to_contain_text("licence unreadable")
    assert page.errors == []


def test_the_operator_adds_a_product_with_two_skus_and_edits_a_price(
    open_page: OpenPage, site: Cluster
) -> None:
    shop_id = site.demo["shop_id"]
    page: Any = open_page("/shop?tab=products", who="shop_operator", size="phone")
    expect(page.get_by_test_id("product")).to_have_count(3)
    page.get_by_test_id("add-product").click()
    form = page.get_by_test_id("new-product")
    form.locator("[name=title]").fill("Linen apron")
    form.locator("[name=category]").fill("home")
    form.get_by_test_id("add-sku-row").click()
    skus = form.get_by_test_id("sku-input")
    for i, (attrs, price) in enumerate((("colour=green", "88.5"), ("colour=blue, size=L", "1,234.56"))):
        skus.nth(i).locator("[name=attributes]").fill(attrs)
        skus.nth(i).locator("[name=price]").fill(price)
    skus.nth(1).locator("[name=price]").fill("12.345")  # more digits than the currency has
    form.get_by_test_id("create-product").click()
    expect(form.get_by_test_id("error")).to_contain_text("12.345")
    skus.nth(1).locator("[name=price]").fill("1,234.56")
    form.get_by_test_id("create-product").click()
    card = page.get_by_test_id("product").filter(has_text="Linen apron")
    expect(card.get_by_test_id("product-price")).to_have_text(f"¥88.50 {DASH} ¥1,234.56")
    products = ok(call(site, None, "GET", f"/shops/{shop_id}/products", params={"limit": 100}))["items"]
    apron = next(p for p in products if p["title"] == "Linen apron")
    assert sorted((s["price_minor"], tuple(s["attributes"].items())) for s in apron["skus"]) == [
        (8850, (("colour", "green"),)),
        (123456, (("colour", "blue"), ("size", "L"))),
    ]

    first = card.locator(f"[data-testid=sku][data-sku='{apron['skus'][0]['id']}']")
    first.locator("[name=price]").fill("99.9")
    first.get_by_test_id("save-sku").click()
    expect(card.get_by_test_id("product-price")).to_have_text(f"¥99.90 {DASH} ¥1,234.56")
    got = ok(call(site, None, "GET", f"/products/{apron['id']}"))
    assert got["skus"][0]["price_minor"] == 9990
    assert page.errors == []


def test_the_operator_adds_a_member_and_names_a_room_admin(open_page: OpenPage, site: Cluster) -> None:
    shop_id, room_id = site.demo["shop_id"], site.room_id
    page: Any = open_page("/shop?tab=members", who="shop_operator", size="desktop")
    expect(page.locator("[data-testid=member][data-user=demo-streamer]")).to_be_visible()
    form = page.get_by_test_id("add-member")
    form.locator("[name=user_id]").fill("demo-viewer-2")
    form.locator("select[name=role]").select_option("streamer")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=member][data-user=demo-viewer-2]")).to_contain_text("Streamer")
    members = ok(call(site, "shop_operator", "GET", f"/shops/{shop_id}/members"))["items"]
    assert {"user_id": "demo-viewer-2", "role": "streamer"}.items() <= next(
        m for m in members if m["user_id"] == "demo-viewer-2"
    ).items()

    page.locator("[data-tab=admins]").click()
    expect(page.get_by_test_id("admin-room")).to_have_value(str(room_id))
    page.get_by_test_id("add-admin").locator("[name=user_id]").fill("demo-viewer-1")
    page.get_by_test_id("add-admin").locator("button[type=submit]").click()
    expect(page.locator("[data-testid=admin][data-user=demo-viewer-1]")).to_be_visible()
    admins = ok(call(site, "shop_operator", "GET", f"/rooms/{room_id}/admins"))["items"]
    assert [a["user_id"] for a in admins] == ["demo-viewer-1"]
    assert page.errors == []


def test_a_viewer_gets_no_operator_controls_and_the_api_refuses_them(
    open_page: OpenPage, sale: Sale, site: Cluster
) -> None:
    page: Any = open_page("/shop?tab=orders", who="viewer_1", size="phone")
    expect(page.get_by_test_id("gate")).to_contain_text("Your account may not open this page.")
    for testid in ("tabs", "orders", "ship", "add-product", "add-member", "apply-form"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.locator("[data-nav='/shop']")).to_have_count(0)
    shop = sale.shop_id
    assert call(site, "viewer_1", "GET", f"/shops/{shop}/orders").status_code == 403
    assert call(site, "viewer_1", "GET", f"/shops/{shop}/members").status_code == 403
    product = {"title": "x", "category": "x", "skus": [{"price_minor": 1, "stock": 1}]}
    assert call(site, "viewer_1", "POST", f"/shops/{shop}/products", json=product).status_code == 403
    order = sale.paid_order("viewer_2")
    ship = {"carrier": "SF", "tracking_no": "SF0000000001"}
    assert call(site, "viewer_1", "POST", f"/orders/{order['id']}/ship", json=ship).status_code in (403, 404)
    assert call(site, "viewer_1", "POST", f"/shops/{shop}/orders/ship", json={"items": []}).status_code in (
        403,
        422,
    )
    assert call(site, "viewer_1", "POST", "/shops", json={}).status_code in (403, 422)
    assert page.errors == []


def test_a_streamer_of_the_shop_reads_without_operator_controls(open_page: OpenPage) -> None:
    page: Any = open_page("/shop?tab=products", who="streamer", size="phone")
    expect(page.get_by_test_id("my-role")).to_have_text("Streamer")
    scarf = page.get_by_test_id("product").filter(has_text="Silk scarf")
    expect(scarf.get_by_test_id("sku-price").first).to_have_text("¥199.00")
    for testid in ("add-product", "edit-product", "archive", "save-sku"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.locator("[data-tab=orders]")).to_have_count(0)  # a shop's orders are its operators'
    page.locator("[data-tab=members]").click()
    expect(page.get_by_test_id("member").first).to_be_visible()
    expect(page.get_by_test_id("add-member")).to_have_count(0)
    assert page.errors == []


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_screenshots_of_the_console(open_page: OpenPage, sale: Sale, size: str, lang: str) -> None:
    if not ok(call(sale.site, "shop_operator", "GET", f"/shops/{sale.shop_id}/orders"))["items"]:
        sale.paid_order("viewer_1")  # this test alone: an order to show
    page: Any = open_page("/shop", who="shop_operator", size=size, lang=lang)
    expect(page.get_by_test_id("shop-history").locator("[data-testid=history-row]").first).to_be_visible()
    shoot(page, "shop-qualification", size, lang)
    page.locator("[data-tab=products]").click()
    expect(page.get_by_test_id("product").first).to_be_visible()
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")  # the pictures too
    shoot(page, "shop-products", size, lang)
    page.locator("[data-tab=orders]").click()
    expect(page.get_by_test_id("order").first).to_be_visible()
    shoot(page, "shop-orders", size, lang)
    page.locator("[data-tab=rooms]").click()
    page.locator(f"[data-testid=room][data-room='{sale.room_id}']").get_by_test_id("open-report").click()
    expect(page.get_by_test_id("fig-orders")).to_be_visible()
    shoot(page, "shop-report", size, lang)
    page.get_by_test_id("chart-viewers").evaluate("e => e.scrollIntoView()")
    shoot(page, "shop-report-charts", size, lang)
    assert page.errors == []

    site = sale.site  # a shop operator with no shop yet: the application
    tokens = TokenService(settings_for(site.env["DATABASE_URL"]))
    site.tokens["applicant"] = tokens.issue("applicant", [Role.SHOP_OPERATOR, Role.VIEWER], name="applicant")
    page = open_page("/shop", who="applicant", size=size, lang=lang)
    expect(page.get_by_test_id("conditions").locator("li")).to_have_count(6)
    shoot(page, "shop-apply", size, lang)
