"""IBANs (ISO 13616) with mod-97 check digits (ISO 7064), for the bank's accounts and for counterparties."""

from __future__ import annotations

import numpy as np

# BBAN layout per country: (bank code, then account digits), as (letters, digits) blocks in order.
# Lengths follow the national formats so every IBAN has its country's length.
BBAN_LENGTH = {
    "DE": 18,
    "FR": 23,
    "NL": 14,
    "BE": 12,
    "AT": 16,
    "CZ": 20,
    "PL": 24,
    "CH": 17,
    "GB": 18,
    "LU": 16,
    "ES": 20,
    "IT": 23,
}
# Leading letters of the BBAN (bank identifier) for countries whose bank code is alphabetic.
ALPHA_PREFIX = {"NL": 4, "GB": 4, "IT": 1}
OWN_BANK_CODE = {
    "DE": "10050000",
    "FR": "3000600001",
    "NL": "DEMB",
    "BE": "731",
    "AT": "20111",
    "CZ": "0800",
    "PL": "10901014",
    "CH": "00762",
    "GB": "DEMB400515",
    "LU": "001",
}


def _numeric(text: str) -> str:
    """Letters become two digits (A=10 … Z=35), as ISO 7064 mod 97-10 requires."""
    return "".join(str(int(ch, 36)) for ch in text)


def check_digits(country: str, bban: str) -> str:
    """The two check digits that make `country + cc + bban` valid."""
    value = int(_numeric(bban + country) + "00")
    return f"{98 - value % 97:02d}"


def make_iban(country: str, bban: str) -> str:
    return f"{country}{check_digits(country, bban)}{bban}"


def is_valid(iban: str) -> bool:
    """Mod-97 check of a compact IBAN (no spaces); the length must match the country when it is known."""
    if len(iban) < 5 or not iban[:2].isalpha() or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    expected = BBAN_LENGTH.get(iban[:2])
    if expected is not None and len(iban) != expected + 4:
        return False
    return int(_numeric(iban[4:] + iban[:4])) % 97 == 1


def _digits(rng: np.random.Generator, n: int, width: int) -> list[str]:
    """n random digit strings of a fixed width (built from 9-digit chunks so widths beyond int64 work)."""
    parts: list[list[str]] = []
    remaining = width
    while remaining > 0:
        chunk = min(9, remaining)
        values = rng.integers(0, 10**chunk, size=n)
        parts.append([f"{v:0{chunk}d}" for v in values.tolist()])
        remaining -= chunk
    return ["".join(p) for p in zip(*parts, strict=True)] if parts else [""] * n


def _letters(rng: np.random.Generator, n: int, width: int) -> list[str]:
    codes = rng.integers(65, 91, size=(n, width))
    return ["".join(map(chr, row)) for row in codes.tolist()]


def random_ibans(rng: np.random.Generator, countries: list[str]) -> list[str]:
    """Valid IBANs of other banks for the given countries (counterparties)."""
    out: list[str] = [""] * len(countries)
    arr = np.array(countries)
    for country in sorted(set(countries)):
        idx = np.flatnonzero(arr == country)
        n_alpha = ALPHA_PREFIX.get(country, 0)
        digits = _digits(rng, len(idx), BBAN_LENGTH[country] - n_alpha)
        letters = _letters(rng, len(idx), n_alpha) if n_alpha else [""] * len(idx)
        for i, a, d in zip(idx.tolist(), letters, digits, strict=True):
            out[i] = make_iban(country, a + d)
    return out


def own_ibans(countries: list[str], account_numbers: np.ndarray) -> list[str]:
    """IBANs of the bank's own accounts: its bank code per country, then the account number, zero padded."""
    out = []
    for country, number in zip(countries, account_numbers.tolist(), strict=True):
        code = OWN_BANK_CODE[country]
        width = BBAN_LENGTH[country] - len(code)
        out.append(make_iban(country, f"{code}{number:0{width}d}"))
    return out


def corrupt(iban: str) -> str:
    """The same IBAN with wrong check digits (every other value of the two digits fails mod 97)."""
    good = int(iban[2:4])
    bad = (good + 37) % 97
    bad = bad if bad not in (good, 0, 1) else (good + 11) % 97
    return f"{iban[:2]}{bad:02d}{iban[4:]}"
