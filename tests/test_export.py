"""/export: contacts, calls and Next Steps as CSV files for Excel; exported contacts import back."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

from tests.conftest import IVAN, OLGA, BotHarness, last_text
from tests.fakeapi import RecordedRequest
from tests.history import add_call, add_contact, add_step
from tests.test_import import contacts, send_file

DAY = timedelta(days=1)


def exported(requests: list[RecordedRequest]) -> dict[str, bytes]:
    (document,) = [r for r in requests if r.method == "sendDocument"]
    upload = document.files["document"]
    assert upload.filename == "ballback-export-2026-11-27.zip"
    with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def table(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads Cyrillic right
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


async def make_history(bot: BotHarness) -> None:
    now = bot.clock.now()
    listing = (
        "Имя;Телефон;Компания;Примечание\r\n"
        'Иван Петров;8 912 345-67-89;ООО «Ромашка»;"звонить после обеда; спросить\r\nпро склад"\r\n'
        'Jane Doe;+44 20 7946 0958;"Big ""Q"" Corp";\r\n'
        "'=SUM(A1);;;\r\n"
        "@ivan_sobakin;;;- начинается с минуса\r\n"
        "Алия;+7 701 234 5678;ТОО Алма;\r\n"
    )
    await send_file(bot, "list.csv", listing.encode("cp1251", errors="strict"))
    ivan = (await bot.rows("SELECT id FROM contacts WHERE name = 'Иван Петров'"))[0][0]
    jane = (await bot.rows("SELECT id FROM contacts WHERE name = 'Jane Doe'"))[0][0]
    await add_call(bot, ivan, now - 2 * DAY, "cl")
    await add_call(bot, jane, now - DAY, "na")
    await add_step(bot, ivan, now + DAY, action="Демо у них в офисе", created=now - DAY)
    await add_step(bot, jane, now + 60 * DAY, kind="reminder", action="Call in spring")


async def test_export_opens_in_excel_and_tells_clients_from_prospects(bot: BotHarness) -> None:
    await make_history(bot)
    sent = await bot.send("/export", IVAN)
    (document,) = [r for r in sent if r.method == "sendDocument"]
    assert document.params["caption"].startswith("📤 Your data: 5 contacts, 2 calls, 2 Next Steps.")
    files = exported(sent)
    assert sorted(files) == ["calls.csv", "contacts.csv", "next_steps.csv"]

    people = table(files["contacts.csv"])
    assert people[0] == [
        "Name", "Company", "Phone", "Note", "Status", "Call back", "Archived", "Added"
    ]  # fmt: skip
    by_name = {row[0]: row for row in people[1:]}
    assert by_name["Иван Петров"][:5] == [
        "Иван Петров",
        "ООО «Ромашка»",
        "8 (912) 345-67-89",
        "звонить после обеда; спросить\r\nпро склад",
        "client",
    ]
    assert by_name["Jane Doe"][1:5] == ['Big "Q" Corp', "'+44 20 7946 0958", "", "prospect"]
    assert "'=SUM(A1)" in by_name  # Excel would run it as a formula without the apostrophe
    assert by_name["'@ivan_sobakin"][3] == "'- начинается с минуса"
    assert by_name["Алия"][2] == "8 (701) 234 5678"
    assert by_name["Иван Петров"][7] == "2026-11-27 09:00"

    calls = table(files["calls.csv"])
    assert calls == [
        ["Date", "Name", "Company", "Phone", "Outcome", "Note"],
        ["2026-11-25 09:00", "Иван Петров", "ООО «Ромашка»", "8 (912) 345-67-89",
         "“Call me later”", ""],
        ["2026-11-26 09:00", "Jane Doe", 'Big "Q" Corp', "'+44 20 7946 0958", "No answer", ""],
    ]  # fmt: skip
    steps = table(files["next_steps.csv"])
    assert steps[0] == ["Agreed", "Due", "Name", "Company", "Action", "Kind", "State"]
    assert steps[1:] == [
        ["2026-11-26 09:00", "2026-11-28 09:00", "Иван Петров", "ООО «Ромашка»",
         "Демо у них в офисе", "ball", "open"],
        ["2026-11-27 09:00", "2027-01-26 09:00", "Jane Doe", 'Big "Q" Corp',
         "Call in spring", "reminder", "reminder, open"],
    ]  # fmt: skip


async def test_round_trip_export_then_import_gives_the_same_contacts(bot: BotHarness) -> None:
    await make_history(bot)
    mine = await contacts(bot, IVAN)
    assert len(mine) == 5
    contacts_csv = exported(await bot.send("/export", IVAN))["contacts.csv"]

    # into an empty account: the same contacts, value for value
    reply = last_text(await send_file(bot, "contacts.csv", contacts_csv, OLGA))
    assert "Новых контактов: <b>5</b>" in reply and "Пропущено" not in reply
    assert await contacts(bot, OLGA) == mine
    # back into the same account: nothing doubles, nothing changes
    reply = last_text(await send_file(bot, "contacts.csv", contacts_csv, IVAN))
    assert "New contacts: <b>0</b>" in reply and "in the file: <b>5</b>" in reply
    assert await contacts(bot, IVAN) == mine

    # Olga's export has Russian headers, and reads back the same way
    russian = exported(await bot.send("/export", OLGA))["contacts.csv"]
    assert table(russian)[0][:4] == ["Имя", "Компания", "Телефон", "Заметка"]
    reply = last_text(await send_file(bot, "контакты.csv", russian, IVAN))
    assert "New contacts: <b>0</b>" in reply and "in the file: <b>5</b>" in reply
    assert await contacts(bot, IVAN) == mine


async def test_nothing_to_export(bot: BotHarness) -> None:
    sent = await bot.send("/export", IVAN)
    assert not [r for r in sent if r.method == "sendDocument"]
    assert last_text(sent).startswith("You have no contacts yet")


async def test_export_has_only_the_reps_own_data(bot: BotHarness) -> None:
    await add_contact(bot, "Ivan's", person=IVAN)
    await add_contact(bot, "Olga's", person=OLGA)
    files = exported(await bot.send("/export", IVAN))
    names = [row[0] for row in table(files["contacts.csv"])[1:]]
    assert names == ["Ivan's"]


async def test_a_team_admin_exports_the_whole_team_from_private_chat(bot: BotHarness) -> None:
    from tests.team_helpers import make_team

    await make_team(bot, IVAN, IVAN, OLGA)
    await add_contact(bot, "Ivan's", person=IVAN)
    await add_contact(bot, "Olga's", person=OLGA)
    bot.api.chat_member_status[OLGA.id] = "member"

    refused = await bot.send("/export team", OLGA)
    assert not [r for r in refused if r.method == "sendDocument"]
    assert "админ" in last_text(refused)

    files = exported(await bot.send("/export team", IVAN))
    rows = table(files["contacts.csv"])
    assert rows[0][0] == "Rep"
    assert sorted((row[0], row[1]) for row in rows[1:]) == [
        ("Ivan", "Ivan's"),
        ("Ольга", "Olga's"),
    ]
