"""A table whose header names no known column: the rep says which column is which with buttons,
and the answer is kept for the next file with the same header row."""

from __future__ import annotations

from typing import Any

from bot.domain.tables import Table
from bot.domain.transfer import ColumnChoice, header_signature, offered_columns
from tests.conftest import IVAN, OLGA, BotHarness, Person, buttons, last_text, private_chat
from tests.fakeapi import RecordedRequest
from tests.test_calls import answers, data_of, edits
from tests.test_import import contacts, send_file

AMO_LIKE = (
    "Наименование;Рабочий телефон (контакт);Город;Заметки менеджера\n"
    "ООО Ромашка;8 912 345-67-89;Пермь;звонить утром\n"
    "Лютик;+7 913 111 22 33;;\n"
)
ENGLISH = "Client <main>;Tel.;City\nA & B;8 912 345 67 89;Perm\nOleg;12;\n"


def question(sent: list[RecordedRequest]) -> RecordedRequest:
    (asked,) = [r for r in sent if r.method in ("sendMessage", "editMessageText") and buttons(r)]
    return asked


async def tap(bot: BotHarness, data: str, message_id: int, person: Person = IVAN) -> str:
    """Press a button of the column question; the text it was edited into."""
    sent = await bot.tap(data, message_id, person)
    assert answers(sent) == [("", False)], answers(sent)
    (edited,) = edits(sent)
    return str(edited.params["text"])


async def flows(bot: BotHarness) -> list[tuple[Any, ...]]:
    return await bot.rows("SELECT kind FROM flows")


async def mappings(bot: BotHarness) -> list[tuple[Any, ...]]:
    return await bot.rows("SELECT user_id, mapping FROM import_mappings")


async def test_unknown_headers_are_named_with_buttons_and_imported(bot: BotHarness) -> None:
    sent = await send_file(bot, "amo.csv", AMO_LIKE.encode())
    asked = question(sent)
    text = asked.params["text"]
    assert text.startswith("📋 <b>amo.csv</b>: I don't recognise these columns.")
    assert "• <b>Наименование</b>: ООО Ромашка" in text
    assert "• <b>Рабочий телефон (контакт)</b>: 8 912 345-67-89" in text
    assert "• <b>Заметки менеджера</b>: звонить утром" in text
    assert text.endswith(
        "Which column holds the contact's <b>name</b>? If the first and last "
        "names are in columns of their own, tap “First and last name apart”."
    )
    assert data_of(asked) == ["im:n:0", "im:n:1", "im:n:2", "im:n:3", "im:n:s", "im:x"]
    assert await flows(bot) == [("im",)]
    message_id = asked.message_id

    assert (await tap(bot, "im:n:0", message_id)).endswith("Which column holds the <b>phone</b>?")
    sent = await bot.tap("im:p:0", message_id)  # the name's column is taken
    assert answers(sent)[0][1] is True and not edits(sent)
    assert (await tap(bot, "im:p:1", message_id)).endswith("the <b>company</b>?")
    assert (await tap(bot, "im:c:-", message_id)).endswith("the contact's <b>note</b>?")
    sent = await bot.tap("im:o:3", message_id)
    (done,) = edits(sent)
    report = done.params["text"]
    assert report.startswith("📥 <b>amo.csv</b>: import done.\n➕ New contacts: <b>2</b>")
    assert "Columns read the way you chose" not in report
    assert not buttons(done)
    assert await contacts(bot) == [
        ("ООО Ромашка", None, "+79123456789", "звонить утром"),
        ("Лютик", None, "+79131112233", None),
    ]
    assert await flows(bot) == []
    assert await mappings(bot) == [(IVAN.id, '{"name": 0, "phone": 1, "note": 3}')]
    assert [r.method for r in sent].count("getFile") == 1  # the file, fetched again by its id


async def test_the_same_header_imports_without_questions_until_reset(bot: BotHarness) -> None:
    await answer_all(bot, "amo.csv", AMO_LIKE, ["im:n:0", "im:p:1", "im:c:-", "im:o:-"])
    again = "наименование ; РАБОЧИЙ ТЕЛЕФОН (контакт);Город;Заметки менеджера\nБорис;;;\n"
    sent = await send_file(bot, "next.csv", again.encode())
    reply = last_text(sent)
    assert not any(buttons(r) for r in sent)
    assert reply.startswith(
        "📥 <b>next.csv</b>: import done.\n🗂 Columns read the way you chose for files with these "
        "headers (/import reset forgets that).\n➕ New contacts: <b>1</b>"
    )
    assert [row[0] for row in await contacts(bot)] == ["ООО Ромашка", "Лютик", "Борис"]
    assert await flows(bot) == []
    # another rep's file with the same header is asked about
    assert question(await send_file(bot, "amo.csv", AMO_LIKE.encode(), OLGA))
    await bot.send("/cancel", OLGA)

    assert last_text(await bot.send("/import reset", IVAN)) == (
        "Done: I forgot the column choices you saved. Next time I'll ask again."
    )
    assert await mappings(bot) == []
    assert last_text(await bot.send("/import reset", IVAN)).startswith("You have no saved")
    sent = await send_file(bot, "next.csv", again.encode())
    assert data_of(question(sent))[0] == "im:n:0"
    assert len(await contacts(bot)) == 3


async def test_import_alone_says_what_it_is_for(bot: BotHarness) -> None:
    assert last_text(await bot.send("/import", IVAN)).startswith("📥 To import contacts, send")
    assert "<code>/import reset</code> — забыть" in last_text(await bot.send("/import", OLGA))


async def answer_all(
    bot: BotHarness, name: str, text: str, taps: list[str], person: Person = IVAN
) -> str:
    message_id = question(await send_file(bot, name, text.encode(), person)).message_id
    for data in taps[:-1]:
        await tap(bot, data, message_id, person)
    (done,) = edits(await bot.tap(taps[-1], message_id, person))
    return str(done.params["text"])


async def test_english_client_and_tel_with_escaping(bot: BotHarness) -> None:
    sent = await send_file(bot, "clients.csv", ENGLISH.encode())
    text = question(sent).params["text"]
    assert "• <b>Client &lt;main&gt;</b>: A &amp; B" in text
    assert [label for label, _ in buttons(question(sent))][:3] == ["Client <main>", "Tel.", "City"]
    message_id = question(sent).message_id
    for data in ("im:n:0", "im:p:1", "im:c:2"):
        await tap(bot, data, message_id)
    (done,) = edits(await bot.tap("im:o:-", message_id))
    report = done.params["text"]
    assert "New contacts: <b>1</b>" in report
    assert "• row 3: no phone number in “12”" in report
    assert await contacts(bot) == [("A & B", "Perm", "+79123456789", None)]


async def test_a_split_first_and_last_name(bot: BotHarness) -> None:
    table = "Given;Family;Tel.;Firma GmbH\nIvan;Petrov;+7 912 345 67 89;Acme\nJane;;;\n"
    sent = await send_file(bot, "split.csv", table.encode())
    message_id = question(sent).message_id
    first = await tap(bot, "im:n:s", message_id)
    assert first.endswith("Which column holds the <b>first name</b>?")
    sent = await bot.tap("im:l:1", message_id)  # not the question asked now
    assert answers(sent)[0][1] is True
    sent = await bot.tap("im:f:0", message_id)
    (asked,) = edits(sent)
    assert asked.params["text"].endswith("And the <b>last name</b>?")
    assert data_of(asked) == ["im:l:1", "im:l:2", "im:l:3", "im:l:-", "im:x"]
    for data in ("im:l:1", "im:p:2", "im:c:3"):
        await tap(bot, data, message_id)
    (done,) = edits(await bot.tap("im:o:-", message_id))
    assert "New contacts: <b>2</b>" in done.params["text"]
    assert await contacts(bot) == [
        ("Ivan Petrov", "Acme", "+79123456789", None),
        ("Jane", None, None, None),
    ]
    assert await mappings(bot) == [(IVAN.id, '{"first": 0, "last": 1, "phone": 2, "company": 3}')]


async def test_no_last_name_in_russian(bot: BotHarness) -> None:
    report = await answer_all(
        bot,
        "б.csv",
        "Имечко;Тлф\nОльга;89123456789\n",
        ["im:n:s", "im:f:0", "im:l:-", "im:p:1", "im:c:-", "im:o:-"],
        OLGA,
    )
    assert report.startswith("📥 <b>б.csv</b>: загрузка завершена.")
    assert await contacts(bot, OLGA) == [("Ольга", None, "+79123456789", None)]


async def test_a_cancelled_question_stores_nothing(bot: BotHarness) -> None:
    message_id = question(await send_file(bot, "amo.csv", AMO_LIKE.encode())).message_id
    await tap(bot, "im:n:0", message_id)
    await tap(bot, "im:p:1", message_id)
    sent = await bot.send("/cancel", IVAN)
    assert last_text(sent) == "OK, left that question. Nothing was saved from it."
    assert await contacts(bot) == [] and await flows(bot) == [] and await mappings(bot) == []
    stale = await bot.tap("im:c:-", message_id)
    assert answers(stale)[0][1] is True and not edits(stale)

    message_id = question(await send_file(bot, "amo.csv", AMO_LIKE.encode())).message_id
    assert await tap(bot, "im:x", message_id) == (
        "OK, left that question. Nothing was saved from it."
    )
    assert await contacts(bot) == [] and await flows(bot) == [] and await mappings(bot) == []


async def test_a_file_sent_while_the_question_is_open_is_refused(bot: BotHarness) -> None:
    message_id = question(await send_file(bot, "amo.csv", AMO_LIKE.encode())).message_id
    sent = await send_file(bot, "other.csv", b"Name;Phone\nBoris;89123456789\n")
    assert last_text(sent) == (
        "First answer the question about the columns of <b>amo.csv</b>, or /cancel it; then "
        "send this file again. Nothing of it was imported."
    )
    assert "getFile" not in [r.method for r in sent]
    assert await contacts(bot) == [] and await flows(bot) == [("im",)]
    typed = await bot.send("Наименование", IVAN)
    assert last_text(typed).startswith("Tap a button under the question about the columns")
    await tap(bot, "im:n:0", message_id)  # the question goes on
    assert await contacts(bot) == []


async def test_someone_else_s_press_is_refused(bot: BotHarness) -> None:
    message_id = question(await send_file(bot, "amo.csv", AMO_LIKE.encode())).message_id
    sent = await bot.tap("im:n:0", message_id, OLGA, chat=private_chat(IVAN))
    assert answers(sent) == [("Эта кнопка не ваша.", True)]
    assert [r.method for r in sent] == ["answerCallbackQuery"]
    sent = await bot.tap("im:x", message_id, OLGA, chat=private_chat(IVAN))
    assert [r.method for r in sent] == ["answerCallbackQuery"]
    assert await flows(bot) == [("im",)]
    (data,) = (await bot.rows("SELECT data FROM flows"))[0]
    assert '"step": "n"' in data and '"map": {}' in data


async def test_forget_takes_the_saved_choices_along(bot: BotHarness) -> None:
    await answer_all(bot, "amo.csv", AMO_LIKE, ["im:n:0", "im:p:1", "im:c:-", "im:o:-"])
    assert len(await mappings(bot)) == 1
    sent = await bot.send("/forget", IVAN)
    await bot.tap("fg:y", next(r for r in sent if buttons(r)).message_id)
    assert await mappings(bot) == []


def test_offered_columns_skip_empty_ones_and_stop_at_20() -> None:
    header = ["", *[f"C{n}" for n in range(1, 30)]]
    table = Table([(1, [*header[:3], "", *header[4:]]), (2, ["", "x" * 80, "", ""])])
    offered = offered_columns(table, 40)
    assert offered[0] == (1, "C1", "x" * 39 + "…")
    assert [index for index, _, _ in offered][:3] == [1, 2, 4]
    assert len(offered) == 20


def test_column_choices_and_header_keys() -> None:
    assert header_signature(["Client", "Tel.", ""]) == header_signature([" CLIENT", "tel"])
    assert header_signature(["Client", "Tel."]) != header_signature(["Tel.", "Client"])
    choice = ColumnChoice(first=0, last=None, phone=2)
    assert ColumnChoice.from_json(choice.to_json()) == choice
    assert ColumnChoice.from_json({"phone": 1}) is None  # no name
    assert ColumnChoice.from_json({"name": 0, "first": 1}) is None
    assert ColumnChoice.from_json({"name": "0"}) is None
    assert ColumnChoice.from_json({"name": 500}) is None
    header = ColumnChoice(name=1, phone=0).header(["Моб."])
    assert header.phones[0].kind.value == "mobile"
