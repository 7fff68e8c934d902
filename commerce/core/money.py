"""Money: integer minor units with an ISO 4217 currency code. Never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass

from commerce.core.errors import InvalidInput

# Minor-unit exponent of the currencies we accept.
CURRENCIES: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "GBP": 2, "JPY": 0, "KRW": 0, "SGD": 2}
MAX_MINOR = 10**12  # one hundred million yuan in fen: a sanity cap far above any live listing
_CODE = re.compile(r"^[A-Z]{3}$")


def check_currency(code: str) -> str:
    if not _CODE.match(code) or code not in CURRENCIES:
        raise InvalidInput(
            f"unsupported currency {code!r}", details={"field": "currency", "supported": sorted(CURRENCIES)}
        )
    return code


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise InvalidInput("amount must be an integer number of minor units")
        if not 0 <= self.amount_minor <= MAX_MINOR:
            raise InvalidInput("amount out of range", details={"min": 0, "max": MAX_MINOR})
        check_currency(self.currency)

    def __str__(self) -> str:
        exp = CURRENCIES[self.currency]
        if exp == 0:
            return f"{self.amount_minor} {self.currency}"
        major, minor = divmod(self.amount_minor, 10**exp)
        return f"{major}.{minor:0{exp}d} {self.currency}"
