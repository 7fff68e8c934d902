"""The HTTP edge: routes parse input, call one action, and map domain errors to JSON answers."""
