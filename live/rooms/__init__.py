"""Live rooms: scheduling, going live, ending, force-ending, previews and subscriptions."""
