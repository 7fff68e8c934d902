"""Buying in the room: stock for listings, orders placed from a live room, sold-out flips."""
