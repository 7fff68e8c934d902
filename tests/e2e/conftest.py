"""Fixtures shared by the end-to-end tests."""

from tests.e2e.buying import backend, shop

__all__ = ["backend", "shop"]
