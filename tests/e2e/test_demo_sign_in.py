"""The demo's one-click sign-in: off by default (the server issues no tokens), on with DEMO_SIGN_IN."""

from __future__ import annotations

from tests.support import Client, FakeClock, make_services


async def test_demo_sign_in_is_off_by_default(client: Client) -> None:
    for method, path, body in (
        ("GET", "/demo/accounts", None),
        ("POST", "/demo/sign-in", {"account": "finance"}),
    ):
        r = await client.call(method, path, json=body)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "demo_sign_in_off"


async def test_demo_sign_in_issues_a_token_that_the_api_accepts(db_url: str, clock: FakeClock) -> None:
    c = Client(make_services(db_url, clock, demo_sign_in=True))
    try:
        accounts = (await c.call("GET", "/demo/accounts")).json()["items"]
        assert {a["account"] for a in accounts} >= {"streamer", "viewer_1", "platform_staff", "finance"}
        got = (await c.call("POST", "/demo/sign-in", json={"account": "platform_staff"})).json()
        assert got["roles"] == ["platform_staff"]
        me = await c.call("GET", "/me", headers={"Authorization": f"Bearer {got['token']}"})
        assert me.json()["user_id"] == "demo-staff"
        unknown = await c.call("POST", "/demo/sign-in", json={"account": "root"})
        assert unknown.status_code == 404 and unknown.json()["error"]["details"]["kind"] == "demo account"
        bad = await c.call("POST", "/demo/sign-in", json={"account": "x" * 40})
        assert bad.status_code == 422
    finally:
        await c.aclose()
