"""Importing .vcf files: vCard 2.1, 3.0 and 4.0 as phones, Google and Outlook export them.

The cards are written by hand after RFC 2426 (3.0), RFC 6350 (4.0) and the vCard 2.1 spec, in
the shapes the exporters use: Android's quoted-printable 2.1 with soft line breaks and a folded
base64 photo, the iPhone's grouped ``item1.TEL`` with its own labels, Google's several contacts in
one file.
"""

from __future__ import annotations

import binascii

from bot.domain.tables import MAX_ROWS
from bot.domain.transfer import ImportRow, Problem, Rejected
from bot.domain.vcard import is_vcard, read_vcards
from tests.conftest import IVAN, OLGA, BotHarness, last_text
from tests.history import add_contact
from tests.test_import import assert_refused, contacts, send_file


def vcf(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def qp(text: str, width: int = 30) -> list[str]:
    """``text`` as Android writes it in vCard 2.1: UTF-8, quoted-printable, soft line breaks
    ("=" at the end of a line) every ``width`` characters or so."""
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=False).decode("ascii")
    encoded = encoded.replace("=\r\n", "").replace("=\n", "")  # ours are made below
    lines, current = [], ""
    for piece in _qp_pieces(encoded):
        if len(current) + len(piece) > width:
            lines.append(current + "=")
            current = ""
        current += piece
    return [*lines, current]


def _qp_pieces(encoded: str) -> list[str]:
    pieces, i = [], 0
    while i < len(encoded):
        size = 3 if encoded[i] == "=" else 1
        pieces.append(encoded[i : i + size])
        i += size
    return pieces


PHOTO_21 = [  # a JPEG's first bytes, folded the way Android folds it, then a blank line
    "PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgG",
    "  BgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/yQALCAABAAEBAREA",
    "",
]


async def test_vcard_21_from_android_quoted_printable(bot: BotHarness) -> None:
    n = qp("Петров;Иван;Иванович;;")
    fn = qp("Иван Петров")
    org = qp("ООО «Ромашка»")
    note = qp("Звонить после обеда\r\nне раньше 14:00")
    assert len(n) > 1 and len(note) > 1  # soft line breaks are in the file
    content = vcf(
        "BEGIN:VCARD",
        "VERSION:2.1",
        f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{n[0]}",
        *n[1:],
        f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{fn[0]}",
        *fn[1:],
        "TEL;WORK:+7 343 123-45-67",
        "TEL;CELL;PREF:+7 912 345-67-89",
        "TEL;HOME;VOICE:8 343 210-20-30",
        "TEL;FAX:+7 343 123-45-68",
        f"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{org[0]}",
        *org[1:],
        f"NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{note[0]}",
        *note[1:],
        "EMAIL;HOME:ivan@example.com",
        *PHOTO_21,
        "END:VCARD",
    )
    reply = last_text(await send_file(bot, "00001.vcf", content))
    assert "<b>00001.vcf</b>: import done." in reply
    assert "New contacts: <b>1</b>" in reply and "Rows left out" not in reply
    assert await contacts(bot) == [
        (
            "Иван Петров",
            "ООО «Ромашка»",
            "+79123456789",
            "Звонить после обеда\nне раньше 14:00\n"
            "Рабочий: +7 343 123-45-67\nДомашний: +7 343 210-20-30\nФакс: +7 343 123-45-68",
        ),
    ]


async def test_vcard_30_from_an_iphone(bot: BotHarness) -> None:
    content = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "PRODID:-//Apple Inc.//iPhone OS 17.0//EN",
        "N:Сидорова;Анна;;;",
        "FN:Анна Сидорова",
        'ORG:ООО "Лютик"\\, филиал;Отдел продаж',
        "TEL;type=WORK;type=VOICE:+7 (343) 222-33-44",
        "item1.TEL;type=CELL;type=VOICE;type=pref:+7 (913) 111-2",
        " 2-33",  # a folded line
        "item2.TEL:+7 (343) 777-88-99",
        "item2.X-ABLabel:Склад",
        "item3.TEL:+7 (922) 000-11-22",
        "item3.X-ABLabel:_$!<Mobile>!$_",
        "NOTE:Звонить утром\\, не позже 10\\nспросить про склад",
        "PHOTO;ENCODING=b;TYPE=JPEG:not base64 at all!",  # a broken photo costs nothing
        "END:VCARD",
    )
    reply = last_text(await send_file(bot, "Анна Сидорова.vcf", content, OLGA))
    assert "Новых контактов: <b>1</b>" in reply
    assert await contacts(bot, OLGA) == [
        (
            "Анна Сидорова",
            'ООО "Лютик", филиал',
            "+79131112233",
            "Звонить утром, не позже 10\nспросить про склад\n"
            "Рабочий: +7 343 222-33-44\nСклад: +7 343 777-88-99\nМобильный: +7 922 000-11-22",
        ),
    ]


async def test_vcard_40(bot: BotHarness) -> None:
    content = vcf(
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Олег Кузнецов",
        "N:Кузнецов;Олег;;;",
        "ORG:ИП Кузнецов",
        'TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+7-343-555-66-77',
        "TEL;VALUE=uri;TYPE=cell:tel:+7-912-444-55-66",
        "NOTE:Склад на Уралмаше\\; оптовик",
        "PHOTO:data:image/jpeg;base64,MIICajCCAdOgAwIBAgICBEUwDQYJKoZIhvcN",
        "END:VCARD",
    )
    reply = last_text(await send_file(bot, "contact.vcf", content, mime="text/vcard"))
    assert "New contacts: <b>1</b>" in reply
    assert await contacts(bot) == [
        (
            "Олег Кузнецов",
            "ИП Кузнецов",
            "+79124445566",
            "Склад на Уралмаше; оптовик\nРабочий: +7 343 555-66-77",
        ),
    ]


async def test_several_contacts_with_a_photo_merge_like_a_table(bot: BotHarness) -> None:
    await add_contact(bot, "Иван Петров", phone="+79123456789")
    content = vcf(
        # Google Contacts' export: 3.0, several cards, N and FN, a photo by URL
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Ваня Петров",
        "N:Петров;Ваня;;;",
        "TEL;TYPE=CELL:+7 912 345-67-89",  # the same phone as a stored contact
        "ORG:Ромашка",
        "PHOTO:https://lh3.googleusercontent.com/contacts/photo.jpg",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "TEL;TYPE=CELL:+7 913 000-00-01",  # a number with no name
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:",
        "N:;;;;",
        "ORG:ООО Лютик;",  # a company only: its name is the contact's
        "TEL;TYPE=WORK:+7 343 100-20-30",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:Мария Соколова",
        "TEL;TYPE=CELL:двенадцать",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N:Иванова;Мария",
        "TEL;HOME:+7 343 210-20-30",
        "TEL;CELL:+7 922 333-44-55",
        "END:VCARD",
    )
    reply = last_text(await send_file(bot, "contacts.vcf", content))
    assert "New contacts: <b>2</b>" in reply
    assert "Merged with ones you had or repeated in the file: <b>1</b>" in reply
    assert "Rows left out: <b>2</b>" in reply
    assert "• row 2: no name" in reply
    assert "• row 4: no phone number in “двенадцать”" in reply
    assert await contacts(bot) == [
        ("Иван Петров", "Ромашка", "+79123456789", None),
        ("ООО Лютик", "ООО Лютик", "+73431002030", None),
        ("Мария Иванова", None, "+79223334455", "Домашний: +7 343 210-20-30"),
    ]


# -- broken files: a clear reply, nothing stored -------------------------------------------------


async def test_a_vcf_that_is_no_vcard(bot: BotHarness) -> None:
    sent = await send_file(bot, "contacts.vcf", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    await assert_refused(bot, sent, "I couldn't read a single contact in this .vcf file")
    sent = await send_file(bot, "contacts.vcf", "Имя;Телефон\nИван;89123456789\n".encode())
    await assert_refused(bot, sent, "I couldn't read a single contact in this .vcf file")
    sent = await send_file(bot, "contacts.vcf", b"", OLGA)
    await assert_refused(bot, sent, "Не получилось прочитать ни одного контакта")


async def test_a_damaged_card_is_left_out_and_the_others_imported(bot: BotHarness) -> None:
    broken = vcf(
        "BEGIN:VCARD",
        "VERSION:2.1",
        "FN;CHARSET=NO-SUCH-CHARSET;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD",
        "TEL;CELL:+7 912 345-67-89",
        "END:VCARD",
    )
    sent = await send_file(bot, "broken.vcf", broken)
    await assert_refused(bot, sent, "I couldn't read a single contact in this .vcf file")
    good = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Олег", "TEL:+7 913 111-22-33", "END:VCARD")
    cut_off = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0\r\n"
    reply = last_text(await send_file(bot, "mixed.vcf", broken + good + cut_off))
    assert "New contacts: <b>2</b>" in reply
    assert "• row 1: this contact is damaged and I couldn't read it" in reply
    assert await contacts(bot) == [("Олег", None, "+79131112233", None), ("Анна", None, None, None)]


async def test_cards_without_names(bot: BotHarness) -> None:
    content = vcf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "TEL;TYPE=CELL:+7 913 000-00-01",
        "EMAIL:someone@example.com",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "FN:",
        "TEL;TYPE=CELL:+7 913 000-00-02",
        "END:VCARD",
    )
    sent = await send_file(bot, "nameless.vcf", content, OLGA)
    await assert_refused(bot, sent, "Ни у одного контакта в этом файле .vcf нет имени")
    sent = await send_file(bot, "nameless.vcf", content, IVAN)
    await assert_refused(bot, sent, "None of the contacts in this .vcf file has a name")


async def test_too_many_cards_are_refused_whole(bot: BotHarness) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Контакт {n}\r\nEND:VCARD\r\n"
    content = "".join(card.format(n=n) for n in range(MAX_ROWS + 1)).encode()
    sent = await send_file(bot, "all.vcf", content)
    await assert_refused(bot, sent, "That file has more than 10000 contacts")


async def test_a_vcard_sent_under_another_name_is_still_read(bot: BotHarness) -> None:
    content = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Олег", "TEL:+7 913 111-22-33", "END:VCARD")
    reply = last_text(await send_file(bot, "contacts.txt", content))
    assert "New contacts: <b>1</b>" in reply
    reply = last_text(await send_file(bot, "contact", content, OLGA, mime="text/x-vcard"))
    assert "Новых контактов: <b>1</b>" in reply
    sent = await send_file(bot, "huge.vcf", content, size=5 * 1024 * 1024 + 1)
    assert last_text(sent).startswith("That file is over 5 MB")
    assert not any(r.method == "getFile" for r in sent)


# -- the pure parts ------------------------------------------------------------------------------


def test_windows_1251_cards_and_a_nested_agent() -> None:
    content = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=Windows-1251:Петров;Иван\r\n"
        "AGENT:\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:Секретарь\r\nEND:VCARD\r\n"
        "TEL;WORK;VOICE:(343) 123-45-67\r\nEND:VCARD\r\n"
    ).encode("cp1251")
    assert is_vcard(b"\xef\xbb\xbf\r\nbegin:vcard\r\n") and not is_vcard(b"Name;Phone\n")
    assert read_vcards(content) == (
        [ImportRow(1, "Иван Петров", None, "+73431234567", None)],
        [],
    )


def test_a_card_s_note_over_the_limit_is_left_out() -> None:
    content = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Олег", f"NOTE:{'x' * 1001}", "END:VCARD")
    good = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Анна", "END:VCARD")
    assert read_vcards(content + good) == (
        [ImportRow(2, "Анна")],
        [Rejected(1, Problem.NOTE_TOO_LONG)],
    )
