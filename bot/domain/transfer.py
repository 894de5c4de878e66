"""Moving a rep's contacts in and out: phones as Excel keeps them.

Plain Python: no Telegram, no SQL.
"""

from __future__ import annotations

import phonenumbers


def phone_for_excel(e164: str) -> str:
    """A phone as a spreadsheet should hold it: text that Excel leaves alone and that reads back.

    Numbers of the +7 plan (Russia, Kazakhstan) as dialled at home, ``8 (912) 345-67-89``;
    others in international format (the CSV writer keeps Excel from taking the ``+`` for a
    formula).
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 7:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
