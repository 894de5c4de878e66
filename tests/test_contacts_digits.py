"""parse_contact skips the phone matcher only where no phone number can be."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneMetadata

from bot.domain.contacts import MIN_PHONE_DIGITS, ContactInput, parse_contact


def shortest_valid_number() -> int:
    """Fewest digits of any phone number phonenumbers knows, country code included."""
    lengths = []
    metadata = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    metadata += [
        PhoneMetadata.metadata_for_nongeo_region(code)
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    for md in metadata:
        if md is None:
            continue
        possible = [n for n in md.general_desc.possible_length if n > 0]
        if possible:
            lengths.append(min(possible) + len(str(md.country_code)))
    return min(lengths)


def test_the_digit_threshold_is_safe() -> None:
    assert shortest_valid_number() >= MIN_PHONE_DIGITS


def test_names_with_few_digits_are_names() -> None:
    assert parse_contact("Client 12-499, Shop 7") == ContactInput(
        name="Client 12-499", company="Shop 7"
    )


def test_phones_are_still_found() -> None:
    parsed = parse_contact("Ivan 8 912 345-67-89, Romashka; after 5")
    assert parsed == ContactInput(
        name="Ivan", company="Romashka", phone="+79123456789", note="after 5"
    )
    assert parse_contact("+49 30 901820") == ContactInput(name="+49 30 901820", phone="+4930901820")
