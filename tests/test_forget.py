"""/forget: after a confirmation button, nothing about the user is left in any table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import IVAN, OLGA, BotHarness, buttons, last_text, private_chat, with_buttons
from tests.dbtools import table_columns
from tests.history import add_call, add_contact, add_step, alerts

DAY = timedelta(days=1)


async def build_history(bot: BotHarness) -> None:
    now = bot.clock.now()
    for person in (IVAN, OLGA):
        anna = await add_contact(bot, f"Anna of {person.first_name}", person=person)
        await add_call(bot, anna, now - DAY, "cl", person=person)
        await add_step(bot, anna, now + DAY, person=person)
        await bot.send(
            f"/call Boris of {person.first_name} +7 912 000-00-0{person.id % 10}", person
        )
    await bot.send("/nextstep Boris of Ivan", IVAN)  # leaves a guided flow open
    assert await bot.rows("SELECT count(*) FROM flows WHERE user_id = ?", IVAN.id) == [(1,)]


async def rows_mentioning(bot: BotHarness, value: int, inbox: bool = False) -> dict[str, int]:
    """For every table: how many rows hold ``value`` in any column. The inbox (every update
    that came in, the ones just sent included) only when asked."""
    found: dict[str, int] = {}
    for table, columns in (await table_columns(bot.db)).items():
        if table == "inbox" and not inbox:
            continue
        where = " OR ".join(f'CAST("{column}" AS TEXT) = ?' for column in columns)
        params: list[Any] = [str(value)] * len(columns)
        ((count,),) = await bot.rows(f'SELECT count(*) FROM "{table}" WHERE {where}', *params)
        found[table] = count
    return found


async def test_forget_deletes_every_row_about_the_user(bot: BotHarness) -> None:
    await build_history(bot)
    before = await rows_mentioning(bot, IVAN.id)
    assert before["users"] == 1 and before["contacts"] >= 2 and before["calls"] >= 2
    olga_before = await rows_mentioning(bot, OLGA.id)

    sent = await bot.send("/forget", IVAN)
    text = last_text(sent)
    assert text.startswith("⚠️ This deletes everything I store about you: 2 contacts, 2 calls,")
    assert "1 Next Step" in text
    assert [data for _, data in buttons(with_buttons(sent))] == ["fg:y", "fg:n"]
    message_id = with_buttons(sent).message_id

    # someone else cannot press it
    forged = await bot.tap("fg:y", message_id, OLGA, chat=private_chat(IVAN))
    assert alerts(forged) == ["Эта кнопка не ваша."]
    assert (await rows_mentioning(bot, IVAN.id))["users"] == 1

    done = await bot.tap("fg:y", message_id, IVAN)
    edit = next(r for r in done if r.method == "editMessageText")
    assert edit.params["text"].startswith("🗑 Done: everything I stored about you is deleted.")
    after = await rows_mentioning(bot, IVAN.id, inbox=True)
    assert after == dict.fromkeys(after, 0), after  # the updates they sent too
    # nothing of Olga's went with it
    assert await rows_mentioning(bot, OLGA.id) == olga_before

    # the lists are empty now, and writing again starts from scratch
    assert "Due for a call: <b>0</b>" in last_text(await bot.send("/pipeline", IVAN))
    await bot.send("/start", IVAN)
    assert await bot.rows("SELECT count(*) FROM contacts WHERE owner_id = ?", IVAN.id) == [(0,)]


async def test_keeping_the_data(bot: BotHarness) -> None:
    await build_history(bot)
    before = await rows_mentioning(bot, IVAN.id)
    sent = await bot.send("/forget", IVAN)
    kept = await bot.tap("fg:n", with_buttons(sent).message_id, IVAN)
    assert last_text(kept) == "Kept: nothing was deleted."
    assert await rows_mentioning(bot, IVAN.id) == before


async def test_an_old_confirmation_asks_again(bot: BotHarness) -> None:
    await build_history(bot)
    before = await rows_mentioning(bot, IVAN.id)
    sent = await bot.send("/forget", IVAN)
    message_id = with_buttons(sent).message_id
    bot.clock.advance(timedelta(hours=2))
    sent_at = bot.clock.now() - timedelta(hours=2)
    late = await bot.feed(
        {
            "callback_query": {
                "id": "late-1",
                "from": IVAN.as_dict(),
                "chat_instance": "1",
                "data": "fg:y",
                "message": {
                    "message_id": message_id,
                    "date": int(sent_at.timestamp()),  # the confirmation was sent 2 hours ago
                    "chat": private_chat(IVAN),
                    "from": {"id": 1000, "is_bot": True, "first_name": "Ballback"},
                    "text": "…",
                },
            }
        }
    )
    assert alerts(late) and "too old" in alerts(late)[0]
    assert await rows_mentioning(bot, IVAN.id) == before


async def test_forget_with_nothing_stored(bot: BotHarness) -> None:
    sent = await bot.send("/forget", IVAN)
    assert "0 contacts, 0 calls, 0 Next Steps" in last_text(sent)
    done = await bot.tap("fg:y", with_buttons(sent).message_id, IVAN)
    assert "everything I stored about you is deleted" in last_text(done)


async def test_forget_removes_the_rep_from_their_team(bot: BotHarness) -> None:
    from tests.team_helpers import in_group, make_team

    team_id = await make_team(bot, IVAN, IVAN, OLGA)
    await bot.send("/call Anna Petrova", IVAN)
    await bot.send("/call Boris", OLGA)
    assert "Ivan" in last_text(await in_group(bot, "/summary", OLGA))

    sent = await bot.send("/forget", IVAN)
    await bot.tap("fg:y", with_buttons(sent).message_id, IVAN)

    after = await rows_mentioning(bot, IVAN.id, inbox=True)
    assert after == dict.fromkeys(after, 0), after  # the updates they sent too
    # the team is the group's and carries on without him
    assert await bot.rows("SELECT id, created_by FROM teams") == [(team_id, None)]
    summary = last_text(await in_group(bot, "/summary", OLGA))
    assert "Ivan" not in summary and "Ольга" in summary
