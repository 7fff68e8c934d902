"""Live: rooms, the room cart as shown in a room, real-time delivery, and the HTTP/WebSocket edge.

``live`` composes ``commerce`` and ``media``; neither of them imports ``live``.
"""
