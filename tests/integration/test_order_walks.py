"""Hypothesis state machine: random moves of an order by random actors through the HTTP API. A model
of the order table (who may make which move) predicts every answer: 200, 409 naming the allowed moves,
or 403/404 for actors who may not; the recorded history must follow the model's walk."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from commerce.core.identity import Role
from commerce.orders.models import OrderStatus as O
from commerce.orders.transitions import Actor
from tests.e2e.buying import ADDRESS
from tests.e2e.world import STAFF, ShopWorld, qualified_shop, scheduled_room
from tests.support import Client, DatabaseTemplate, FakeClock, make_services

# the model's own copy of who may move an order where, written out so a change to the table is caught
MODEL: dict[tuple[str, str], set[str]] = {
    (O.PENDING_PAYMENT, O.CANCELLED): {"buyer", "staff"},
    (O.PAID, O.SHIPPED): {"shop"},
    (O.SHIPPED, O.DELIVERED): {"shop", "staff"},
    (O.SHIPPED, O.COMPLETED): {"buyer"},
    (O.DELIVERED, O.COMPLETED): {"buyer"},
}
ALLOWED: dict[str, set[str]] = {
    O.PENDING_PAYMENT: {O.PAID, O.CANCELLED, O.CLOSED},
    O.PAID: {O.SHIPPED, O.CLOSED},
    O.SHIPPED: {O.DELIVERED, O.COMPLETED},
    O.DELIVERED: {O.COMPLETED},
}
ENDPOINT: dict[str, str] = {
    O.CANCELLED: "cancel",
    O.SHIPPED: "ship",
    O.DELIVERED: "deliver",
    O.COMPLETED: "confirm-receipt",
}
BODY: dict[str, Any] = {O.CANCELLED: {}, O.SHIPPED: {"carrier": "SF", "tracking_no": "SF123456"}}


class OrderWalk(RuleBasedStateMachine):
    template: DatabaseTemplate
    tmp: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.services = make_services(self.template.fresh(self.tmp), FakeClock())
        self.c = Client(self.services)
        self.world: ShopWorld = self.run(qualified_shop(self.c, products=1))
        room = self.run(scheduled_room(self.c, self.world))
        rid, lid = room["id"], room["listing_ids"][0]
        w = self.world
        self.run(self.c.call("POST", f"/rooms/{rid}/start", w.streamer))
        self.run(self.c.call("PUT", f"/rooms/{rid}/listings/{lid}/stock", w.operator, json={"stock": 5}))
        self.run(
            self.c.call("POST", f"/rooms/{rid}/listings/{lid}/status", w.streamer, json={"status": "on_sale"})
        )
        cart = self.run(self.c.call("GET", f"/rooms/{rid}/cart")).json()
        order = self.run(
            self.c.call(
                "POST",
                f"/rooms/{rid}/listings/{lid}/orders",
                ("buyer-1", Role.VIEWER),
                json={"sku_id": cart["listings"][0]["skus"][0]["id"], "quantity": 1, "address": ADDRESS},
                headers={"Idempotency-Key": "walk"},
            )
        ).json()
        self.order_id: int = order["id"]
        self.state: str = O.PENDING_PAYMENT
        self.moves = 1
        self.actors = {
            "buyer": ("buyer-1", Role.VIEWER),
            "shop": w.operator,
            "streamer": w.streamer,
            "staff": STAFF,
            "stranger": ("someone-else", Role.VIEWER),
        }

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.c.aclose())
        self.run(self.services.db.dispose())
        self.loop.close()

    @rule(
        to=st.sampled_from(sorted(ENDPOINT)),
        who=st.sampled_from(["buyer", "shop", "streamer", "staff", "stranger"]),
    )
    def move(self, to: str, who: str) -> None:
        target = to
        r = self.run(
            self.c.call(
                "POST", f"/orders/{self.order_id}/{ENDPOINT[target]}", self.actors[who], json=BODY.get(target)
            )
            if target in BODY
            else self.c.call("POST", f"/orders/{self.order_id}/{ENDPOINT[target]}", self.actors[who])
        )
        party = who in {"buyer", "shop", "staff"}  # the streamer is not an operator: a stranger to orders
        if not party:
            assert r.status_code == 404, r.text
            return
        if target not in ALLOWED.get(self.state, set()):
            assert r.status_code == 409, r.text
            assert set(r.json()["error"]["details"]["allowed"]) == ALLOWED.get(self.state, set())
            return
        if who not in MODEL[(self.state, target)]:
            assert r.status_code == 403, r.text
            return
        assert r.status_code == 200, r.text
        self.state = target
        self.moves += 1

    @rule()
    def payment_arrives(self) -> None:
        if self.state == O.PENDING_PAYMENT:
            self.run(
                self.services.orders.move(self.order_id, O.PAID, actor=Actor.SYSTEM, actor_id="payment-test")
            )
            self.state = O.PAID
            self.moves += 1

    @invariant()
    def history_follows_the_model(self) -> None:
        hist = self.run(self.c.call("GET", f"/orders/{self.order_id}/history", self.actors["buyer"])).json()[
            "items"
        ]
        assert len(hist) == self.moves and hist[-1]["to_state"] == self.state
        assert all(a["to_state"] == b["from_state"] for a, b in itertools.pairwise(hist))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_order_random_walks(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    OrderWalk.template = request.getfixturevalue(f"{backend}_template")
    OrderWalk.tmp = tmp_path
    run_state_machine_as_test(
        OrderWalk,
        settings=settings(
            max_examples=8,
            stateful_step_count=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
