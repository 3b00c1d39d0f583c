"""IBANs: the generator's mod-97 check digits agree with an independent ISO 7064 computation."""

from __future__ import annotations

import numpy as np
import pytest

from bank_sim.generator import iban

PUBLISHED_EXAMPLES = [
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "CH9300762011623852957",
    "CZ6508000000192000145399",
    "PL61109010140000071219812874",
    "AT611904300234573201",
    "LU280019400644750000",
]


def independent_mod97(value: str) -> bool:
    """Piecewise mod 97 (as done on paper or with 32-bit integers), letters A=10 … Z=35."""
    rearranged = value[4:] + value[:4]
    remainder = 0
    for ch in rearranged:
        digits = str(ord(ch) - 55) if ch.isalpha() else ch
        for d in digits:
            remainder = (remainder * 10 + int(d)) % 97
    return remainder == 1


@pytest.mark.parametrize("value", PUBLISHED_EXAMPLES)
def test_published_examples_are_valid_and_rebuilt(value: str) -> None:
    assert independent_mod97(value)
    assert iban.is_valid(value)
    assert iban.make_iban(value[:2], value[4:]) == value


@pytest.mark.parametrize("value", PUBLISHED_EXAMPLES)
def test_corrupted_check_digits_fail(value: str) -> None:
    bad = iban.corrupt(value)
    assert bad != value and bad[4:] == value[4:]
    assert not independent_mod97(bad)
    assert not iban.is_valid(bad)


def test_random_ibans_valid_with_country_length() -> None:
    rng = np.random.default_rng(3)
    countries = list(iban.BBAN_LENGTH) * 50
    values = iban.random_ibans(rng, countries)
    assert len(set(values)) == len(values)
    for country, value in zip(countries, values, strict=True):
        assert value[:2] == country
        assert len(value) == iban.BBAN_LENGTH[country] + 4
        assert independent_mod97(value)


def test_own_ibans_unique_and_valid() -> None:
    countries = list(iban.OWN_BANK_CODE) * 20
    values = iban.own_ibans(countries, np.arange(len(countries)) + 1_000_000)
    assert len(set(values)) == len(values)
    assert all(independent_mod97(v) for v in values)


def test_is_valid_rejects_wrong_length_and_garbage() -> None:
    assert not iban.is_valid("DE8937040044053201300")  # one digit short
    assert not iban.is_valid("")
    assert not iban.is_valid("DE89 3704 0044 0532 0130 00")
