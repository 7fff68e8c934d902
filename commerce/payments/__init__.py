"""Payments through a licensed provider: the platform never holds buyers' money. We create payments,
verify the provider's notifications, ask for refunds, and reconcile against its statements."""
