"""The room cart: a shop's products pinned to a room, each moving pending -> on_sale -> sold_out, or off."""
