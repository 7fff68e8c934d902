"""Media: stream provider adapters (push credentials, pull URLs, stream callbacks, force-stop).

This package never imports ``live``.
"""
