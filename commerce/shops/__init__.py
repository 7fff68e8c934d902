"""Shops, their members, and their qualification to sell live."""
