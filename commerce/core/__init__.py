"""Shared building blocks of the commerce areas: persistence base, errors, identity, state machines."""
