"""Stand-ins for the outside services Yellowcart talks to, for development and tests; never imported by
``commerce/``."""
