"""The staff console (/staff) and the API docs page (/docs) in a real browser: force-ending a live room
(a viewer's channel sees it end), shop decisions with their history, the word list and the review queue,
the audit log, finance's reconciliation, a viewer refused, and Swagger UI showing the served document."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from playwright.sync_api import expect

from commerce.core.identity import Role
from commerce.shops.conditions import CONDITIONS_VERSION
from live.auth import TokenService
from tests.browser.conftest import OpenPage, shoot
from tests.e2e.cluster import Cluster, run_sync
from tests.support import settings_for


def _token(site: Cluster, uid: str, roles: list[Role]) -> str:
    return TokenService(settings_for(site.env["DATABASE_URL"])).issue(uid, roles, name=uid)


def _call(site: Cluster, method: str, path: str, token: str, body: Any = None, ok: int = 200) -> Any:
    r = httpx.request(
        method, site.http[0] + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert r.status_code == ok, (method, path, r.status_code, r.text)
    return r.json() if r.content else None


def _staff(site: Cluster) -> str:
    return site.tokens["platform_staff"]


def _apply(site: Cluster, name: str) -> int:
    """A new user (a shop operator) registers a shop and applies for live selling; returns its id."""
    uid = "applicant-" + uuid.uuid4().hex[:8]
    body = {
        "name": name,
        "description": "We sell tea live.",
        "category": "tea",
        "contact_name": "Li Wei",
        "contact_phone": "+86 138 0000 0000",
        "business_license_no": "91310000TEA" + uuid.uuid4().hex[:6],
        "accepted_conditions_version": CONDITIONS_VERSION,
    }
    shop: dict[str, Any] = _call(site, "POST", "/shops", _token(site, uid, [Role.SHOP_OPERATOR]), body, 201)
    return int(shop["id"])


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    """Waits of up to 10 s (the machine running the suite may be busy); back to Playwright's 5 s after."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


LiveRoom = tuple[int, str]
SWAGGER_MS = 20_000  # Swagger UI is a large script: on a busy machine it may take more than 5 s to draw


@pytest.fixture
def live_room(site: Cluster) -> Iterator[LiveRoom]:
    """A room live now in the demo shop, run by a streamer of its own (one live room per streamer);
    yields (room id, streamer token) and ends the room afterwards if it is still live."""
    uid = "streamer-" + uuid.uuid4().hex[:8]
    shop_id = site.demo["shop_id"]
    member = {"user_id": uid, "role": "streamer"}
    _call(site, "POST", f"/shops/{shop_id}/members", site.tokens["shop_operator"], member, 201)
    token = _token(site, uid, [Role.STREAMER, Role.VIEWER])
    body = {"shop_id": shop_id, "title": "Tea tasting " + uid[-4:], "start_now": True}
    room = _call(site, "POST", "/rooms", token, body, 201)
    assert room["state"] == "live"
    yield room["id"], token
    now = _call(site, "GET", f"/rooms/{room['id']}", token)
    if now["state"] == "live":
        _call(site, "POST", f"/staff/rooms/{room['id']}/force-end", _staff(site), {"reason": "test over"})


def _open_docs(open_page: OpenPage, site: Cluster, **how: Any) -> Any:
    """/docs, given time to load Swagger UI's large script (a busy machine may need more than 10 s)."""
    page: Any = open_page("/sign-in", **how)
    page.set_default_timeout(30_000)
    page.goto(site.http[0] + "/docs")
    return page


def _room_state(site: Cluster, room_id: int) -> str:
    return str(_call(site, "GET", f"/rooms/{room_id}", _staff(site))["state"])


async def _say(ws_url: str, room_id: int, token: str, text: str) -> dict[str, Any]:
    """A viewer signs in on the room channel and sends a danmaku; returns the server's answer."""
    async with websockets.connect(f"{ws_url}/ws/rooms/{room_id}", open_timeout=5) as ws:
        await asyncio.wait_for(ws.recv(), 5)  # the snapshot
        await ws.send(json.dumps({"t": "auth", "token": token, "id": "a"}))
        await ws.send(json.dumps({"t": "chat", "text": text, "id": "c"}))
        async with asyncio.timeout(5):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("id") == "c":
                    return dict(frame)


def test_staff_force_end_a_live_room_and_a_viewer_sees_it_end(open_page: OpenPage, site: Cluster) -> None:
    room_id = site.room_id  # the demo's scheduled room, made live by its streamer
    _call(site, "POST", f"/rooms/{room_id}/start", site.tokens["streamer"])
    viewer: Any = open_page("/", who="viewer_1")
    viewer.evaluate(
        """async (id) => {
            const { RoomChannel } = await import("/static/lib/channel.js");
            window.channel = new RoomChannel(id, { token: localStorage.getItem("yc.token") }).start();
        }""",
        room_id,
    )
    viewer.wait_for_function("() => window.channel.state.status === 'live'")

    page: Any = open_page("/staff", who="platform_staff", size="desktop")
    row = page.locator(f"[data-testid=staff-room][data-room='{room_id}']")
    expect(row).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("staff-room").first).to_have_attribute("data-state", "live")  # live first
    expect(row.get_by_test_id("room-online")).to_be_visible()  # its online count
    row.get_by_test_id("show-events").click()
    expect(row.get_by_test_id("stream-events")).to_be_visible()
    row.get_by_test_id("show-mutes").click()
    expect(row.get_by_test_id("mutes")).to_contain_text("Nobody is muted")
    row.get_by_test_id("force-end").click()
    expect(row.get_by_test_id("force-end-confirm")).to_be_disabled()  # a reason is required
    row.get_by_test_id("force-end-reason").fill("counterfeit goods on sale")
    row.get_by_test_id("force-end-confirm").click()

    expect(row).to_have_attribute("data-state", "force_ended")
    expect(row.get_by_test_id("end-reason")).to_contain_text("counterfeit goods on sale")
    expect(row.get_by_test_id("force-end")).to_have_count(0)  # no move left
    assert _room_state(site, room_id) == "force_ended"
    viewer.wait_for_function("() => window.channel.state.status === 'ended'")
    assert viewer.evaluate("window.channel.state.room.state") == "force_ended"
    assert page.errors == [] and viewer.errors == []


def test_staff_console_refuses_a_viewer(open_page: OpenPage, site: Cluster) -> None:
    page: Any = open_page("/staff", who="viewer_1")
    expect(page.get_by_test_id("gate")).to_be_visible()
    expect(page.get_by_test_id("staff-tabs")).to_have_count(0)
    expect(page.locator("main button")).to_have_count(0)
    expect(page.locator("[data-nav='/staff']")).to_have_count(0)
    r = httpx.get(site.http[0] + "/staff/rooms", headers=site.auth("viewer_1"))
    assert r.status_code == 403
    assert httpx.get(site.http[0] + "/staff/audit-log", headers=site.auth("streamer")).status_code == 403
    guest: Any = open_page("/staff")
    expect(guest.get_by_test_id("gate")).to_contain_text("Sign in")


def test_staff_approve_and_reject_shop_applications_with_history(open_page: OpenPage, site: Cluster) -> None:
    good = _apply(site, "Green Leaf Tea " + uuid.uuid4().hex[:4])
    bad = _apply(site, "Dodgy Deals " + uuid.uuid4().hex[:4])
    page: Any = open_page("/staff#shops", who="platform_staff", size="desktop")
    good_row = page.locator(f"[data-testid=staff-shop][data-shop='{good}']")
    bad_row = page.locator(f"[data-testid=staff-shop][data-shop='{bad}']")
    expect(good_row).to_have_attribute("data-state", "applied")
    expect(good_row.get_by_test_id("decide-revoke")).to_have_count(0)  # only the moves its state allows

    good_row.get_by_test_id("decide-approve").click()
    expect(good_row).to_have_attribute("data-state", "approved")
    expect(good_row.get_by_test_id("decide-revoke")).to_be_visible()
    expect(good_row.get_by_test_id("decide-approve")).to_have_count(0)

    bad_row.get_by_test_id("decide-reject").click()
    bad_row.get_by_test_id("decision-reason").fill("the business licence does not match the name")
    bad_row.get_by_test_id("decision-confirm").click()
    expect(bad_row).to_have_attribute("data-state", "rejected")
    expect(bad_row.get_by_test_id("shop-reason")).to_contain_text("does not match")

    good_row.get_by_test_id("show-history").click()
    expect(good_row.locator("[data-testid=history-entry][data-to=approved]")).to_contain_text("demo-staff")
    bad_row.get_by_test_id("show-history").click()
    expect(bad_row.locator("[data-testid=history-entry][data-to=rejected]")).to_contain_text("does not match")
    assert _call(site, "GET", f"/shops/{bad}", _staff(site))["live_status"] == "rejected"

    # a decision another member of staff took meanwhile: the 409 names the moves allowed now
    stale = _apply(site, "Late Tea " + uuid.uuid4().hex[:4])
    page.get_by_test_id("shops-refresh").click()
    stale_row = page.locator(f"[data-testid=staff-shop][data-shop='{stale}']")
    expect(stale_row).to_be_visible()
    _call(site, "POST", f"/staff/shops/{stale}/decisions", _staff(site), {"decision": "approve"})
    stale_row.get_by_test_id("decide-approve").click()
    expect(stale_row.get_by_test_id("error")).to_have_attribute("data-code", "invalid_transition")
    expect(stale_row.get_by_test_id("allowed-moves")).to_contain_text("Revoke")
    expect(stale_row).to_have_attribute("data-state", "approved")
    assert page.errors == []


def test_staff_word_list_and_review_queue(open_page: OpenPage, site: Cluster, live_room: LiveRoom) -> None:
    room_id, _ = live_room
    word = "fakebrand" + uuid.uuid4().hex[:4]
    page: Any = open_page("/staff#moderation", who="platform_staff", size="desktop")
    page.get_by_test_id("word-input").fill(word)
    page.get_by_test_id("word-action").select_option("block")
    page.get_by_test_id("word-add").click()
    listed = page.locator(f"[data-testid=word][data-word='{word}']")
    expect(listed).to_be_visible()
    viewer = site.tokens["viewer_2"]
    refused = run_sync(_say(site.ws[0], room_id, viewer, f"buy {word} here"))
    assert refused["t"] == "error" and refused["code"] == "blocked"
    listed.get_by_test_id("word-remove").click()
    expect(listed).to_have_count(0)
    words = _call(site, "GET", "/staff/moderation/words", _staff(site))["items"]
    assert word not in [w["word"] for w in words]

    masked = "knockoff" + uuid.uuid4().hex[:4]
    page.get_by_test_id("word-input").fill(masked)
    page.get_by_test_id("word-action").select_option("mask")
    page.get_by_test_id("word-add").click()
    expect(page.locator(f"[data-testid=word][data-word='{masked}']")).to_be_visible()
    said = run_sync(_say(site.ws[0], room_id, viewer, f"is this a {masked}?"))
    assert said["t"] == "ack", said
    page.get_by_test_id("reviews-refresh").click()
    review = page.locator("[data-testid=review]", has_text=f"is this a {masked}?")
    expect(review).to_have_attribute("data-status", "pending")
    expect(review).to_contain_text("demo-viewer-2")
    review.get_by_test_id("review-remove").click()
    expect(review).to_have_count(0)  # gone from the pending queue
    page.get_by_test_id("review-filter").select_option("removed")
    expect(page.locator("[data-testid=review][data-status=removed]", has_text=masked)).to_be_visible()

    # mutes of the room
    page.get_by_test_id("mutes-room").fill(str(room_id))
    page.get_by_test_id("mutes-show").click()
    page.get_by_test_id("mute-user").fill("demo-viewer-2")
    page.get_by_test_id("mute-reason").fill("spam")
    page.get_by_test_id("mute-add").click()
    muted = page.locator("[data-testid=mute][data-user=demo-viewer-2]")
    expect(muted).to_contain_text("spam")
    refused = run_sync(_say(site.ws[0], room_id, viewer, "hello again"))
    assert refused["code"] == "muted"
    muted.get_by_test_id("unmute").click()
    expect(muted).to_have_count(0)
    assert page.errors == []


def test_audit_log_and_finance_reconciliation(
    open_page: OpenPage, site: Cluster, live_room: LiveRoom
) -> None:
    room_id, _ = live_room
    shop_id = _apply(site, "Audit Tea " + uuid.uuid4().hex[:4])
    _call(site, "POST", f"/staff/shops/{shop_id}/decisions", _staff(site), {"decision": "approve"})
    _call(site, "POST", f"/staff/rooms/{room_id}/force-end", _staff(site), {"reason": "audit check"})

    page: Any = open_page("/staff#audit", who="platform_staff", size="desktop")
    expect(page.locator("[data-testid=audit-entry][data-action='room.force_end']").first).to_be_visible()
    page.get_by_test_id("audit-target_type").select_option("shop")
    page.get_by_test_id("audit-target_id").fill(str(shop_id))
    page.get_by_test_id("audit-apply").click()
    entries = page.get_by_test_id("audit-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_have_attribute("data-action", "shop.approve")
    expect(entries.first).to_contain_text("demo-staff")
    page.get_by_test_id("audit-action").fill("room.force_end")
    page.get_by_test_id("audit-target_type").select_option("room")
    page.get_by_test_id("audit-target_id").fill(str(room_id))
    page.get_by_test_id("audit-apply").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("audit check")

    fin: Any = open_page("/staff", who="finance", size="desktop")
    expect(fin.locator("[data-testid=staff-tabs] button")).to_have_count(1)  # finance: its tab only
    expect(fin.get_by_test_id("tab-finance")).to_be_visible()
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    expect(fin.get_by_test_id("reconcile-day")).to_have_value(day)
    fin.get_by_test_id("reconcile-run").click()
    result = fin.get_by_test_id("reconcile-result")
    expect(result).to_have_attribute("data-day", day)
    checked = _call(site, "POST", f"/staff/finance/statements/{day}/reconcile", site.tokens["finance"])
    fees = " + ".join(f"¥{f['amount_minor'] // 100}.{f['amount_minor'] % 100:02d}" for f in checked["fees"])
    expect(fin.get_by_test_id("reconcile-fees")).to_have_text(fees or "0")  # per currency, none: 0
    expect(fin.get_by_test_id("reconcile-lines")).to_have_text(str(checked["lines"]))
    # a day that has not ended: the server's 409 shown as it words it
    fin.get_by_test_id("reconcile-day").fill(datetime.now(UTC).date().isoformat())
    fin.get_by_test_id("reconcile-run").click()
    expect(fin.get_by_test_id("error")).to_contain_text("has not ended yet")
    assert httpx.get(site.http[0] + "/staff/audit-log", headers=site.auth("finance")).status_code == 403
    assert page.errors == [] and fin.errors == []


def test_docs_page_shows_the_api_in_swagger_ui(open_page: OpenPage, site: Cluster) -> None:
    page: Any = open_page("/sign-in", who="platform_staff", size="desktop")
    page.set_default_timeout(30_000)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(site.http[0] + "/docs")
    expect(page.locator(".opblock-summary-path", has_text="/rooms").first).to_be_visible(timeout=SWAGGER_MS)
    expect(page.locator(".opblock-tag-section", has_text="staff").first).to_be_visible()
    expect(page.get_by_test_id("docs-back")).to_have_attribute("href", "/")
    expect(page.locator(".auth-wrapper .authorize")).to_have_class("btn authorize locked")  # as the session
    assert site.http[0] + "/openapi.json" in asked
    outside = [u for u in asked if not u.startswith(site.http[0] + "/")]
    assert outside == [], outside  # nothing from elsewhere (no online validator)
    assert page.errors == []


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_screenshots(open_page: OpenPage, site: Cluster, live_room: LiveRoom, size: str, lang: str) -> None:
    room_id, _ = live_room
    _apply(site, "Screenshot Tea " + uuid.uuid4().hex[:4])
    masked = "knockoff" + uuid.uuid4().hex[:4]
    _call(site, "POST", "/staff/moderation/words", _staff(site), {"word": masked, "action": "mask"}, 201)
    assert run_sync(_say(site.ws[0], room_id, site.tokens["viewer_2"], f"is this a {masked}?"))["t"] == "ack"
    page: Any = open_page("/staff", who="platform_staff", size=size, lang=lang)
    expect(page.get_by_test_id("room-online").first).to_be_visible()
    shoot(page, "staff-rooms", size, lang)
    ready = {
        "shops": "[data-testid=staff-shop]",
        "moderation": "[data-testid=review]",
        "audit": "[data-testid=audit-entry]",
        "finance": "[data-testid=reconcile-result]",
    }
    for tab, shown in ready.items():
        page.locator(f"[data-tab={tab}]").click()
        expect(page.get_by_test_id("tab-" + tab)).to_be_visible()
        if tab == "finance":
            page.get_by_test_id("reconcile-run").click()
            expect(page.locator("[data-testid=no-flags], [data-testid=flag]").first).to_be_visible()
        expect(page.locator(shown).first).to_be_visible()
        shoot(page, "staff-" + tab, size, lang)
    docs = _open_docs(open_page, site, who="platform_staff", size=size, lang=lang)
    expect(docs.locator(".opblock").first).to_be_visible(timeout=SWAGGER_MS)
    shoot(docs, "docs", size, lang)
    assert page.errors == [] and docs.errors == []
