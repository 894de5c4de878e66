"""Importing contacts from .csv and .xlsx files sent to the bot, real-world files included."""

from __future__ import annotations

import io
import itertools
import zipfile
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest

from bot.domain.tables import MAX_ROWS, Table, TableError, read_table
from bot.domain.transfer import (
    FileProblem,
    ImportPlan,
    ImportRow,
    NewContact,
    Problem,
    plan_import,
    read_contacts,
)
from storage.models import Contact
from tests.conftest import IVAN, OLGA, BotHarness, Person, last_text
from tests.fakeapi import RecordedRequest
from tests.history import add_contact, user_of

_file_ids = itertools.count(1)


async def send_file(
    bot: BotHarness,
    name: str,
    content: bytes,
    person: Person = IVAN,
    *,
    mime: str | None = None,
    size: int | None = None,
) -> list[RecordedRequest]:
    """Send ``content`` as a document called ``name``, the way Telegram delivers one."""
    file_id = f"doc-{next(_file_ids)}"
    bot.api.register_file(file_id, f"documents/{file_id}", content)
    document: dict[str, Any] = {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_name": name,
        "file_size": len(content) if size is None else size,
    }
    if mime:
        document["mime_type"] = mime
    return await bot.send(None, person, document=document)


async def contacts(bot: BotHarness, owner: Person = IVAN) -> list[tuple[Any, ...]]:
    return await bot.rows(
        "SELECT name, company, phone, note FROM contacts WHERE owner_id = ? ORDER BY id", owner.id
    )


def xlsx(rows: list[list[Any]], *, title_rows: int = 0) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(title_rows):
        sheet.append(["Contacts, November"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- real-world files ----------------------------------------------------------------------------


async def test_russian_excel_csv_in_windows_1251(bot: BotHarness) -> None:
    text = (
        "ФИО;Телефон;Компания;Примечание\r\n"
        "Иван Петров;8 (912) 345-67-89;ООО «Ромашка»;звонить после обеда\r\n"
        "\r\n"
        '"Сидоров; Олег";+7 913 111 22 33;"ООО ""Лютик""";"две\r\nстроки"\r\n'
        ";;;\r\n"
        "Анна;;;\r\n"
    )
    sent = await send_file(bot, "контакты.csv", text.encode("cp1251"))
    reply = last_text(sent)
    assert "<b>контакты.csv</b>: import done." in reply
    assert "New contacts: <b>3</b>" in reply and "Rows left out" not in reply
    assert await contacts(bot) == [
        ("Иван Петров", "ООО «Ромашка»", "+79123456789", "звонить после обеда"),
        ("Сидоров; Олег", 'ООО "Лютик"', "+79131112233", "две\r\nстроки"),
        ("Анна", None, None, None),
    ]
    assert [r.method for r in sent].count("getFile") == 1


async def test_utf8_with_bom_comma_and_english_headers(bot: BotHarness) -> None:
    text = (
        "\ufeffName,Phone,Company,Notes\n"
        "Ivan Petrov,+44 20 7946 0958,Acme,\n"
        '"Doe, Jane",79123456789,"Big, Corp","likes ""quotes"""\n'
    )
    reply = last_text(await send_file(bot, "contacts.csv", text.encode("utf-8")))
    assert "New contacts: <b>2</b>" in reply
    assert await contacts(bot) == [
        ("Ivan Petrov", "Acme", "+442079460958", None),
        ("Doe, Jane", "Big, Corp", "+79123456789", 'likes "quotes"'),
    ]


async def test_utf8_without_bom_semicolons_and_first_and_last_names(bot: BotHarness) -> None:
    text = "Фамилия;Имя;Отчество;Тел.\nПетров;Иван;Иванович;89123456789\nДоу;Джейн;;\n"
    reply = last_text(await send_file(bot, "list.csv", text.encode("utf-8")))
    assert "New contacts: <b>2</b>" in reply
    assert await contacts(bot) == [
        ("Петров Иван Иванович", None, "+79123456789", None),
        ("Джейн Доу", None, None, None),
    ]


async def test_excel_unicode_text_is_utf16_with_tabs(bot: BotHarness) -> None:
    text = "Имя\tКомпания\r\nОльга\tООО Ромашка\r\n"
    reply = last_text(await send_file(bot, "export.txt", text.encode("utf-16")))
    assert "New contacts: <b>1</b>" in reply
    assert await contacts(bot) == [("Ольга", "ООО Ромашка", None, None)]


async def test_xlsx_with_a_title_row_numbers_for_phones_and_blank_rows(bot: BotHarness) -> None:
    content = xlsx(
        [
            ["Контакт", "Телефон (моб.)", "Организация", "Комментарий менеджера"],
            ["Иван Петров", 79123456789, "Ромашка", None],
            [None, None, None, None],
            ["Олег", 89131112233.0, None, "перезвонить"],
            ["Без телефона", "нет", None, None],
            [None, "+7 912 000-00-00", "Лютик", None],
        ],
        title_rows=1,
    )
    sent = await send_file(bot, "база.xlsx", content)
    reply = last_text(sent)
    assert "New contacts: <b>2</b>" in reply
    assert "Rows left out: <b>2</b>" in reply
    assert "• row 6: no phone number in “нет”" in reply
    assert "• row 7: no name" in reply
    assert await contacts(bot) == [
        ("Иван Петров", "Ромашка", "+79123456789", None),
        ("Олег", None, "+79131112233", "перезвонить"),
    ]


# -- duplicates merge ----------------------------------------------------------------------------


async def test_duplicates_merge_instead_of_doubling(bot: BotHarness) -> None:
    await bot.send("/call Иван Петров 8 912 345-67-89", IVAN)
    text = (
        "Имя;Телефон;Компания;Примечание\n"
        "Ваня;+7 (912) 345-67-89;Ромашка;старый номер\n"  # the same phone: the same person
        "Олег;;Лютик;\n"
        "олег ;;ЛЮТИК;любит утро\n"  # the same name and company
        "Олег;;Ромашка;\n"  # the same name, another company: another Олег
        "Анна;8 913 000 00 01;;\n"
        "Анна;8 913 000 00 02;;\n"  # another phone: another Анна
    )
    reply = last_text(await send_file(bot, "dupes.csv", text.encode("utf-8")))
    assert "New contacts: <b>4</b>" in reply
    assert "Merged with ones you had or repeated in the file: <b>2</b>" in reply
    assert await contacts(bot) == [
        ("Иван Петров", "Ромашка", "+79123456789", "старый номер"),
        ("Олег", "Лютик", None, "любит утро"),
        ("Олег (Ромашка)", "Ромашка", None, None),
        ("Анна", None, "+79130000001", None),
        ("Анна (+7 913 000-00-02)", None, "+79130000002", None),
    ]
    # the same file again: everything merges, nothing doubles
    again = last_text(await send_file(bot, "dupes.csv", text.encode("utf-8")))
    assert "New contacts: <b>0</b>" in again and "repeated in the file: <b>6</b>" in again
    assert len(await contacts(bot)) == 5


async def test_what_is_stored_wins_over_the_file(bot: BotHarness) -> None:
    await add_contact(bot, "Олег", company="Лютик", phone="+79131112233")
    text = "Имя;Телефон;Компания\nОлег;+79131112233;Другая компания\n"
    reply = last_text(await send_file(bot, "x.csv", text.encode("utf-8")))
    assert "repeated in the file: <b>1</b>" in reply
    assert await contacts(bot) == [("Олег", "Лютик", "+79131112233", None)]


async def test_each_rep_imports_into_their_own_contacts(bot: BotHarness) -> None:
    await add_contact(bot, "Иван Петров", phone="+79123456789")
    text = "Имя;Телефон\nИван Петров;89123456789\n"
    reply = last_text(await send_file(bot, "x.csv", text.encode("utf-8"), OLGA))
    assert "Новых контактов: <b>1</b>" in reply
    assert await contacts(bot, OLGA) == [("Иван Петров", None, "+79123456789", None)]
    assert len(await contacts(bot, IVAN)) == 1


# -- bad files: refused with a clear message, nothing imported ----------------------------------


async def assert_refused(
    bot: BotHarness, sent: list[RecordedRequest], starts: str, *, downloaded: bool = True
) -> None:
    assert last_text(sent).startswith(starts), last_text(sent)
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]
    assert any(r.method == "getFile" for r in sent) == downloaded


async def test_a_picture_is_not_a_table(bot: BotHarness) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    sent = await send_file(bot, "photo.png", png, mime="image/png")
    await assert_refused(bot, sent, "I can import contacts from a table", downloaded=False)
    sent = await send_file(bot, "photo.csv", png)  # renamed: the content gives it away
    await assert_refused(bot, sent, "I can import contacts from a table")


async def test_a_broken_or_foreign_zip_is_not_a_table(bot: BotHarness) -> None:
    sent = await send_file(bot, "broken.xlsx", b"PK\x03\x04" + b"\x00" * 100)
    await assert_refused(bot, sent, "I can import contacts from a table")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    sent = await send_file(bot, "letter.xlsx", archive.getvalue())
    await assert_refused(bot, sent, "I can import contacts from a table")


async def test_an_old_xls_file_is_refused(bot: BotHarness) -> None:
    sent = await send_file(bot, "old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    await assert_refused(bot, sent, "That is the old Excel format", downloaded=False)
    sent = await send_file(bot, "old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"x" * 100)
    await assert_refused(bot, sent, "That is the old Excel format")


@pytest.mark.parametrize(
    "content",
    [b"", b"\r\n\r\n  \r\n", b"\xef\xbb\xbf", "Имя;Телефон\r\n\r\n".encode("cp1251")],
)
async def test_an_empty_file(bot: BotHarness, content: bytes) -> None:
    sent = await send_file(bot, "empty.csv", content)
    await assert_refused(bot, sent, "That file has no contacts in it")


async def test_no_name_column_asks_which_column_is_which(bot: BotHarness) -> None:
    """Imported once the rep names the columns: tests/test_import_columns.py."""
    sent = await send_file(bot, "x.csv", "Телефон;Город\n89123456789;Пермь\n".encode())
    assert "Which column holds the contact's <b>name</b>?" in last_text(sent)
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]
    sent = await send_file(bot, "y.csv", "Телефон;Город\n".encode(), OLGA)  # nothing to ask about
    assert last_text(sent).startswith("В файле нет контактов.")


async def test_over_5_mb_is_refused_before_downloading(bot: BotHarness) -> None:
    sent = await send_file(bot, "huge.csv", b"Name\nx\n", size=5 * 1024 * 1024 + 1)
    await assert_refused(bot, sent, "That file is over 5 MB", downloaded=False)
    # and again after, should Telegram have reported a smaller size
    big = b"Name\n" + b"x" * (5 * 1024 * 1024)
    sent = await send_file(bot, "huge.csv", big, size=100)
    await assert_refused(bot, sent, "That file is over 5 MB")


async def test_over_10000_rows_is_refused_whole(bot: BotHarness) -> None:
    rows = "".join(f"Contact {n};+7912{n:07d}\n" for n in range(MAX_ROWS + 1))
    sent = await send_file(bot, "many.csv", ("Name;Phone\n" + rows).encode())
    await assert_refused(bot, sent, "That file has more than 10000 rows")
    rows = "".join(f"Contact {n}\n" for n in range(MAX_ROWS))
    sent = await send_file(bot, "many.csv", ("Name\n" + rows).encode())
    assert "New contacts: <b>10000</b>" in last_text(sent)


async def test_a_file_that_cannot_be_downloaded(bot: BotHarness) -> None:
    document = {"file_id": "nope", "file_unique_id": "u-nope", "file_name": "a.csv"}
    sent = await bot.send(None, IVAN, document=document)
    await assert_refused(bot, sent, "I couldn't download that file")


async def test_every_row_rejected_imports_nothing(bot: BotHarness) -> None:
    text = "Имя;Телефон\n;89123456789\n" + "X" * 101 + ";\nОлег;12\n"
    reply = last_text(await send_file(bot, "bad.csv", text.encode()))
    assert "Rows left out: <b>3</b>" in reply
    assert "• row 2: no name" in reply
    assert "• row 3: the name is over 100 characters" in reply
    assert "• row 4: no phone number in “12”" in reply
    assert reply.endswith("Nothing was imported. Fix those rows and send the file again.")
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]


async def test_a_failing_import_leaves_nothing_behind(bot: BotHarness) -> None:
    """One transaction: when the last insert fails, the first ones are rolled back too."""

    def clashing(known: list[Contact]) -> ImportPlan:
        twice = NewContact("Олег", "олег", None, None, None)
        return ImportPlan(creates=[NewContact("Анна", "анна", None, None, None), twice, twice])

    with pytest.raises(Exception, match=r"UNIQUE|duplicate key"):  # SQLite's words, PostgreSQL's
        await bot.store.pipeline.import_contacts(
            user_of(IVAN), phones=[], name_keys=["олег"], plan=clashing, now=bot.clock.now()
        )
    assert await bot.rows("SELECT count(*) FROM contacts") == [(0,)]


# -- the pure parts ------------------------------------------------------------------------------


def test_formula_guard_is_taken_off_on_the_way_in() -> None:
    table = read_table(b"Name;Phone\n'=Boss;'+44 20 7946 0958\n")
    assert isinstance(table, Table)
    assert table.rows[1] == (2, ["=Boss", "+44 20 7946 0958"])


def test_binary_text_is_refused() -> None:
    assert read_table(bytes(range(32)) * 100) is TableError.NOT_A_TABLE
    assert read_table(b"%PDF-1.7\n\x00\x01binary") is TableError.NOT_A_TABLE


def test_header_only_and_missing_name() -> None:
    only_header = read_table(b"Name;Phone\n")
    assert isinstance(only_header, Table)
    assert read_contacts(only_header) is FileProblem.EMPTY
    no_name = read_table(b"Phone\n89123456789\n")
    assert isinstance(no_name, Table)
    assert read_contacts(no_name) is FileProblem.NO_NAME_COLUMN


def test_name_taken_when_nothing_tells_them_apart() -> None:
    rows = [
        ImportRow(2, "Олег", company="Лютик"),
        ImportRow(3, "Олег", company="Ромашка"),
        ImportRow(4, "Олег", company="Ромашка", phone="+79130000001"),
    ]
    taken = Contact(
        id=7,
        owner_id=1,
        name="Олег (Ромашка)",
        company="Мимоза",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    plan = plan_import(rows, [taken])
    assert [c.name for c in plan.creates] == ["Олег", "Олег (+7 913 000-00-01)"]
    assert [(r.line, r.problem) for r in plan.rejected] == [(3, Problem.NAME_TAKEN)]
