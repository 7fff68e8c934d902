"""Commerce: shops, catalog, the room cart's listings, and later orders, payments and settlement.

This package never imports ``live``; it takes its dependencies as arguments.
"""
