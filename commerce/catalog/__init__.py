"""A shop's products and their SKUs (attributes, price in minor units, stock)."""
