"""/list: today's call sheet as a printable PDF (text checked, Cyrillic included) and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from pypdf import PdfReader

from bot.domain.sheet import Sheet, SheetRow, render_pdf
from tests.conftest import (
    IVAN,
    OLGA,
    BotHarness,
    buttons,
    last_text,
    private_chat,
    with_buttons,
)
from tests.fakeapi import RecordedRequest
from tests.history import add_call, add_contact, alerts, set_callback

DAY = timedelta(days=1)


def documents(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.method == "sendDocument"]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


async def test_the_call_sheet_in_russian(bot: BotHarness) -> None:
    now = bot.clock.now()
    oleg = await add_contact(bot, "Олег Сидоров", company="ООО Лютик", person=OLGA)
    await add_call(bot, oleg, now - 3 * DAY, "cl", person=OLGA)
    assert await bot.store.set_callback(OLGA.id, oleg, now - DAY)
    await add_contact(bot, "Иван Петров", company="ООО Ромашка", phone="+79123456789", person=OLGA)
    await add_contact(bot, "Jane Doe", phone="+442079460958", person=OLGA)

    sent = await bot.send("/list", OLGA)
    pdf, table = documents(sent)
    day = "2026-11-27"
    assert pdf.files["document"].filename == f"call-sheet-{day}.pdf"
    assert table.files["document"].filename == f"call-sheet-{day}.csv"
    assert pdf.params["caption"].startswith("📋 Ваш лист звонков на пт, 27.11: в списке 3.")

    text = pdf_text(pdf.files["document"].data)
    assert "Лист звонков: Ольга" in text
    assert "пт, 27.11.2026 · норма: 20 звонков · в списке: 3" in text
    for word in ("Имя", "Компания", "Телефон", "Итог, дата", "Звонил", "Мяч", "Заметки"):
        assert word in text
    # the call-back first, then the never called in the order they were added
    assert text.index("Олег Сидоров") < text.index("Иван Петров") < text.index("Jane Doe")
    assert "ООО Лютик" in text and "«Перезвоните» 24.11" in text
    assert "ООО Ромашка" in text and "+7 912 345-67-89" in text
    assert "Ballback · стр. 1 из 1" in text

    rows = csv_rows(table.files["document"].data)
    assert rows[0] == [
        "№", "Имя", "Компания", "Телефон", "Итог, дата", "Звонил", "Мяч", "Заметки"
    ]  # fmt: skip
    assert rows[1:] == [
        ["1", "Олег Сидоров", "ООО Лютик", "", "«Перезвоните» 24.11", "", "", ""],
        ["2", "Иван Петров", "ООО Ромашка", "8 (912) 345-67-89", "", "", "", ""],
        ["3", "Jane Doe", "", "'+44 20 7946 0958", "", "", "", ""],
    ]


async def test_300_prospects_make_a_few_pages(bot: BotHarness) -> None:
    start = bot.clock.now() - 40 * DAY
    for n in range(1, 306):
        await add_contact(
            bot, f"Prospect {n:03d}", company="Acme", at=start + n * timedelta(seconds=1)
        )
    sent = await bot.send("/list", IVAN)
    pdf, table = documents(sent)
    assert "It has the first 300 of the 305 due." in pdf.params["caption"]
    reader = PdfReader(io.BytesIO(pdf.files["document"].data))
    assert 5 <= len(reader.pages) <= 10
    text = pdf_text(pdf.files["document"].data)
    assert all(f"Prospect {n:03d}" in text for n in range(1, 301))
    assert "Prospect 301" not in text
    assert f"page {len(reader.pages)} of {len(reader.pages)}" in text
    assert len(csv_rows(table.files["document"].data)) == 301


async def test_no_sheet_when_nobody_is_due(bot: BotHarness) -> None:
    called = await add_contact(bot, "Called Yesterday")
    await add_call(bot, called, bot.clock.now() - DAY, "na")
    sent = await bot.send("/list", IVAN)
    assert not documents(sent)
    assert last_text(sent).startswith("Nobody is due for a call")


async def test_the_sheet_button_under_pipeline(bot: BotHarness) -> None:
    later = await add_contact(bot, "Anna")
    await set_callback(bot, later, bot.clock.now() + DAY)
    await add_contact(bot, "Boris")
    pipeline = with_buttons(await bot.send("/pipeline", IVAN))
    assert ("📋 Call sheet", "pl:l") in buttons(pipeline)
    sent = await bot.tap("pl:l", pipeline.message_id)
    pdf, _ = documents(sent)
    text = pdf_text(pdf.files["document"].data)
    assert "Boris" in text and "Anna" not in text  # Anna's call-back is tomorrow
    assert "Call sheet: Ivan" in text
    forged = await bot.tap("pl:l", pipeline.message_id, OLGA, chat=private_chat(IVAN))
    assert alerts(forged) and not documents(forged)


def test_long_texts_are_cut_to_their_column_and_emoji_left_out() -> None:
    sheet = Sheet(
        title="Call sheet: <Ivan & Co> 🔥",
        subtitle="Fri 27 Nov 2026",
        hint="Tick the boxes.",
        tally="Calls:",
        quota=25,
        columns=("#", "Name", "Company", "Phone", "Last call", "Called", "Ball", "Notes"),
        footer="page {page} of {pages}",
        rows=[SheetRow(name="Александр Константинопольский-Щедрин 🔥", company="C" * 100)],
    )
    text = pdf_text(render_pdf(sheet))
    assert "Call sheet: <Ivan & Co>" in text  # a PDF is not HTML: nothing escaped
    assert "🔥" not in text
    assert "Александр" in text and "…" in text
    assert "C" * 100 not in text
