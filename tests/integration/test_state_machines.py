"""Hypothesis state-machine test: random walks over rooms and listings through the HTTP API.

A model of the room and listing tables predicts every answer (200 or 409 with the allowed moves, or
409 no_stock_left for the listing without stock); after every step the server's state and its recorded
history must agree with the model.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from live.cart.models import ListingStatus
from live.rooms.models import RoomState
from tests.e2e.world import STAFF, ShopWorld, allot, qualified_shop, scheduled_room
from tests.support import Client, DatabaseTemplate, FakeClock, make_services

# The model's own copy of the tables, written out so that a change to the server's tables is caught.
S, L = RoomState, ListingStatus
MODEL_ROOM: dict[str, set[str]] = {
    S.SCHEDULED: {S.LIVE, S.CANCELLED, S.FORCE_ENDED},
    S.LIVE: {S.ENDED, S.FORCE_ENDED},
}
MODEL_LISTING: dict[str, set[str]] = {
    L.PENDING: {L.ON_SALE, L.OFF},
    L.ON_SALE: {L.SOLD_OUT, L.OFF},
    L.SOLD_OUT: {L.ON_SALE, L.OFF},
    L.OFF: {L.PENDING, L.ON_SALE},
}
FINAL = {S.ENDED, S.FORCE_ENDED, S.CANCELLED}
CLOSED_BY_THE_END = {L.PENDING, L.ON_SALE}  # a room's end switches these off

ROOM_ACTIONS = {
    "start": RoomState.LIVE,
    "end": RoomState.ENDED,
    "cancel": RoomState.CANCELLED,
    "force-end": RoomState.FORCE_ENDED,
}


class RoomWalk(RuleBasedStateMachine):
    template: DatabaseTemplate
    tmp: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        url = self.template.fresh(self.tmp)
        self.services = make_services(url, FakeClock())
        self.c = Client(self.services)
        self.world: ShopWorld = self.run(qualified_shop(self.c, products=2))
        room = self.run(scheduled_room(self.c, self.world))
        self.room_id: int = room["id"]
        self.listing_ids: list[int] = room["listing_ids"]
        self.stocked = self.listing_ids[0]  # the first has units allotted to the room; the second none
        self.run(allot(self.c, self.world, self.room_id, self.stocked, 5))
        self.room_state = RoomState.SCHEDULED
        self.listings = {lid: ListingStatus.PENDING for lid in self.listing_ids}
        self.moves = {"room": 1, **{f"listing{lid}": 1 for lid in self.listing_ids}}

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.c.aclose())
        self.run(self.services.db.dispose())
        self.loop.close()

    @rule(action=st.sampled_from(sorted(ROOM_ACTIONS)))
    def room_action(self, action: str) -> None:
        target = ROOM_ACTIONS[action]
        if action == "force-end":
            r = self.run(
                self.c.call("POST", f"/staff/rooms/{self.room_id}/force-end", STAFF, json={"reason": "x"})
            )
        elif action == "cancel":
            r = self.run(self.c.call("POST", f"/rooms/{self.room_id}/cancel", self.world.streamer, json={}))
        else:
            r = self.run(self.c.call("POST", f"/rooms/{self.room_id}/{action}", self.world.streamer))
        allowed = MODEL_ROOM.get(self.room_state, set())
        if target in allowed:
            assert r.status_code == 200, r.text
            self.room_state = target
            self.moves["room"] += 1
            if target in FINAL:
                for lid, status in self.listings.items():
                    if status in CLOSED_BY_THE_END:
                        self.listings[lid] = ListingStatus.OFF
                        self.moves[f"listing{lid}"] += 1
        else:
            assert r.status_code == 409, r.text
            err = r.json()["error"]
            assert err["code"] == "invalid_transition"
            assert err["details"]["allowed"] == sorted(allowed)

    @rule(index=st.integers(0, 1), status=st.sampled_from(list(ListingStatus)))
    def flip(self, index: int, status: ListingStatus) -> None:
        target = status
        lid = self.listing_ids[index]
        current = self.listings[lid]
        r = self.run(
            self.c.call(
                "POST",
                f"/rooms/{self.room_id}/listings/{lid}/status",
                self.world.streamer,
                json={"status": target},
            )
        )
        body = r.json()
        if self.room_state in FINAL:
            assert r.status_code == 409 and "room_state" in body["error"]["details"], r.text
        elif target not in MODEL_LISTING[current]:
            assert r.status_code == 409 and body["error"]["details"]["allowed"] == sorted(
                MODEL_LISTING[current]
            )
        elif target == ListingStatus.ON_SALE and self.room_state != RoomState.LIVE:
            assert r.status_code == 409 and body["error"]["details"]["required_room_state"] == "live"
        elif target == ListingStatus.ON_SALE and lid != self.stocked:
            assert r.status_code == 409 and body["error"]["code"] == "no_stock_left", r.text
            assert body["error"]["details"]["units_left"] == 0
        else:
            assert r.status_code == 200, r.text
            assert body["status"] == target
            self.listings[lid] = target
            self.moves[f"listing{lid}"] += 1

    @invariant()
    def server_agrees_with_model(self) -> None:
        cart = self.run(self.c.call("GET", f"/rooms/{self.room_id}/cart")).json()
        assert cart["room_state"] == self.room_state
        assert {x["id"]: x["status"] for x in cart["listings"]} == self.listings
        hist = self.run(self.c.call("GET", f"/rooms/{self.room_id}/history", STAFF)).json()["items"]
        assert len(hist) == self.moves["room"]
        assert all(a["to_state"] == b["from_state"] for a, b in itertools.pairwise(hist))
        for lid in self.listing_ids:
            path = f"/rooms/{self.room_id}/listings/{lid}/history"
            moves = self.run(self.c.call("GET", path, STAFF)).json()["items"]
            assert len(moves) == self.moves[f"listing{lid}"] and moves[-1]["to_state"] == self.listings[lid]
            assert all(a["to_state"] == b["from_state"] for a, b in itertools.pairwise(moves))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_room_and_listing_random_walks(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    template: DatabaseTemplate = request.getfixturevalue(f"{backend}_template")
    RoomWalk.template = template
    RoomWalk.tmp = tmp_path
    run_state_machine_as_test(
        RoomWalk,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
