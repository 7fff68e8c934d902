"""An audience browsing live rooms: guests list rooms and open room pages and carts; viewers with a
token (``YC_VIEWER_TOKEN``) also subscribe to scheduled previews.

    .venv/bin/pip install -e '.[load]'
    .venv/bin/locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 -u 500 -r 50 -t 1m --headless
"""

from __future__ import annotations

import os
import random
from typing import Any

from locust import HttpUser, between, task


class Viewer(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        token = os.environ.get("YC_VIEWER_TOKEN")
        self.headers: dict[str, str] = {"Authorization": f"Bearer {token}"} if token else {}
        self.live: list[int] = []
        self.scheduled: list[int] = []
        self.refresh_rooms()

    def _rooms(self, state: str) -> list[int]:
        with self.client.get(
            "/rooms", params={"state": state, "limit": 50}, name="/rooms?state", catch_response=True
        ) as resp:
            if resp.status_code != 200:
                resp.failure(f"rooms list answered {resp.status_code}")
                return []
            body: dict[str, Any] = resp.json()
            return [int(r["id"]) for r in body["items"]]

    @task(2)
    def refresh_rooms(self) -> None:
        self.live = self._rooms("live")
        self.scheduled = self._rooms("scheduled")

    @task(5)
    def open_room(self) -> None:
        rooms = self.live or self.scheduled
        if not rooms:
            return
        room_id = random.choice(rooms)
        self.client.get(f"/rooms/{room_id}", name="/rooms/{id}", headers=self.headers)
        self.client.get(f"/rooms/{room_id}/cart", name="/rooms/{id}/cart")

    @task(1)
    def subscribe(self) -> None:
        if not self.headers or not self.scheduled:
            return
        room_id = random.choice(self.scheduled)
        self.client.put(
            f"/rooms/{room_id}/subscription", name="/rooms/{id}/subscription", headers=self.headers
        )
