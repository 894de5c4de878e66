"""/pipeline end to end: clients, prospects due for a call, stop chasing, pages with buttons."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.pipeline import client_window
from bot.domain.rules import ContactStatus, Rules, contact_status
from storage.models import from_ts
from tests.conftest import IVAN, OLGA, BotHarness, buttons, last_text, private_chat, with_buttons
from tests.history import add_call, add_contact, add_step, alerts, answered, set_callback

MSK = ZoneInfo("Europe/Moscow")
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def local(day: int, month: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def names_in(text: str) -> list[str]:
    """The contact names of a list, in the order shown."""
    return re.findall(r"^\d+\. <b>(.*?)</b>", text, flags=re.MULTILINE)


async def test_clients_are_derived_from_the_history(bot: BotHarness) -> None:
    now = bot.clock.now()  # Fri 27.11.2026 09:00 in Moscow
    live = await add_contact(bot, "Anna Live", company="Romashka")
    await add_step(bot, live, now + DAY, action="Demo")
    edge = await add_contact(bot, "Boris Edge")
    await add_step(bot, edge, local(27, 12, 23, 59), action="Contract")  # the cycle's last minute
    beyond = await add_contact(bot, "Clara Beyond")
    await add_step(bot, beyond, local(28, 12))  # the first minute after the cycle
    lapsed = await add_contact(bot, "Dmitry Lapsed")
    await add_step(bot, lapsed, now - MINUTE, created=now - 2 * DAY)
    done = await add_contact(bot, "Elena Done")
    await add_step(bot, done, now + 2 * DAY, status="done")
    dropped = await add_contact(bot, "Fedor Dropped")
    await add_step(bot, dropped, now + 2 * DAY, status="dropped")
    moved = await add_contact(bot, "Galina Moved")
    await add_step(bot, moved, now + DAY, status="rescheduled")
    await add_step(bot, moved, now + 3 * DAY, action="Meeting at their office")
    reminder = await add_contact(bot, "Hugo Reminder")
    await add_step(bot, reminder, now + 2 * DAY, kind="reminder")
    archived = await add_contact(bot, "Irina Archived")
    await add_step(bot, archived, now + DAY)
    await bot.store.pipeline.set_archived(IVAN.id, archived, True)

    sent = await bot.send("/pipeline", IVAN)
    text = last_text(sent)
    assert names_in(text) == ["Anna Live", "Galina Moved", "Boris Edge"]
    assert "Clients: <b>3</b>" in text
    assert "Demo, Sat 28 Nov 09:00" in text
    assert "Contract, Sun 27 Dec 23:59" in text

    # one definition: every contact's status from its stored open ball-type Next Steps
    rows = await bot.rows(
        "SELECT contact_id, due_at FROM next_steps WHERE owner_id = ? AND status = 'open' "
        "AND kind = 'ball'",
        IVAN.id,
    )
    dues: dict[int, list[datetime]] = {}
    for contact_id, due_at in rows:
        moment = from_ts(due_at)
        assert moment is not None
        dues.setdefault(contact_id, []).append(moment)
    rules = Rules(tz=MSK)
    by_rule = {c for c, d in dues.items() if contact_status(d, now, rules) is ContactStatus.CLIENT}
    assert by_rule == {live, edge, moved, archived}
    after, before = client_window(now, rules)
    listed = await bot.store.pipeline.clients(IVAN.id, after, before, offset=0, limit=50)
    assert {row.contact.id for row in listed} == by_rule - {archived}

    # a day and a minute later Anna's Next Step has lapsed, and the cycle has moved on by a day:
    # the one a minute beyond it is inside now
    bot.clock.advance(DAY + MINUTE)
    text = last_text(await bot.send("/pipeline", IVAN))
    assert names_in(text) == ["Galina Moved", "Boris Edge", "Clara Beyond"]


async def test_a_lapsed_next_step_shows_on_the_card_as_a_prospect(bot: BotHarness) -> None:
    now = bot.clock.now()
    dmitry = await add_contact(bot, "Dmitry", phone="+79123456789")
    await add_step(bot, dmitry, now + MINUTE, action="Call back about the offer")
    card = last_text(await bot.send("/contact Dmitry", IVAN))
    assert "🎾 Client: Call back about the offer" in card
    bot.clock.advance(2 * MINUTE)
    card = last_text(await bot.send("/contact Dmitry", IVAN))
    assert "📇 Prospect" in card and "(lapsed)" in card


async def test_prospects_due_for_a_call(bot: BotHarness) -> None:
    now = bot.clock.now()
    new_old = await add_contact(bot, "New Oldest", at=now - 10 * DAY)
    new_young = await add_contact(bot, "New Youngest", at=now - DAY)
    cb_yesterday = await add_contact(bot, "Callback Yesterday")
    await add_call(bot, cb_yesterday, now - 5 * DAY, "cl")
    await set_callback(bot, cb_yesterday, now - DAY)
    cb_older = await add_contact(bot, "Callback Older")
    await add_call(bot, cb_older, now - 6 * DAY, "cl")
    await set_callback(bot, cb_older, now - 2 * DAY)
    cb_now = await add_contact(bot, "Callback Now")
    await add_call(bot, cb_now, now - 6 * DAY, "th")
    await set_callback(bot, cb_now, now)  # reached this very minute
    later = await add_contact(bot, "Callback Later")
    await add_call(bot, later, now - DAY, "cl")
    await set_callback(bot, later, now + DAY)
    called = await add_contact(bot, "Called No Date")
    await add_call(bot, called, now - DAY, "na")
    client = await add_contact(bot, "Never Called Client")
    await add_step(bot, client, now + DAY)
    gone = await add_contact(bot, "Archived New")
    await bot.store.pipeline.set_archived(IVAN.id, gone, True)
    assert new_old < new_young

    text = last_text(await bot.send("/pipeline", IVAN))
    assert "Clients: <b>1</b>" in text and "Due for a call: <b>5</b>" in text
    due = await bot.tap("pl:p:1", with_buttons(await bot.send("/pipeline", IVAN)).message_id)
    text = last_text(due)
    assert names_in(text) == [
        "Callback Older",
        "Callback Yesterday",
        "Callback Now",
        "New Oldest",
        "New Youngest",
    ]
    assert "Callback Older</b>: call back since Wed 25 Nov" in text
    assert "New Oldest</b>: never called" in text


async def test_stop_chasing(bot: BotHarness) -> None:
    now = bot.clock.now()
    chased = await add_contact(bot, "Oleg Chased", company="Lutik")
    for days in (1, 4, 9, 20, 45):  # 4 inside the cycle, one long before it
        await add_call(bot, chased, now - days * DAY, "na")
    three = await add_contact(bot, "Three Calls")
    for days in (1, 2, 3, 40):
        await add_call(bot, three, now - days * DAY, "th")
    came_back = await add_contact(bot, "Ball Came Back")
    for days in (10, 12, 14):
        await add_call(bot, came_back, now - days * DAY, "na")
    await add_step(bot, came_back, now - 8 * DAY, created=now - 9 * DAY, status="done")
    for days in (1, 2, 3):
        await add_call(bot, came_back, now - days * DAY, "na")
    client = await add_contact(bot, "Busy Client")
    for days in (1, 2, 3, 4, 5):
        await add_call(bot, client, now - days * DAY, "na")
    await add_step(bot, client, now + DAY)

    sent = await bot.send("/pipeline", IVAN)
    assert "Stop chasing: <b>1</b>" in last_text(sent)
    text = last_text(await bot.tap("pl:s:1", with_buttons(sent).message_id))
    assert names_in(text) == ["Oleg Chased"]
    assert "Oleg Chased</b>, Lutik: 4 calls without a ball, the last Thu 26 Nov" in text
    assert "never threw the ball back" in text  # the one-line reminder of the method

    card = last_text(await bot.send("/contact Oleg", IVAN))
    assert "🛑 Stop chasing: 4 calls in 30 days without a ball back" in card
    # one more call to the one whose ball came back makes four since that ball
    await add_call(bot, came_back, now - MINUTE, "na")
    text = last_text(await bot.tap("pl:s:1", with_buttons(sent).message_id))
    assert names_in(text) == ["Ball Came Back", "Oleg Chased"]  # 4 calls each: by name


async def test_pages_with_buttons(bot: BotHarness) -> None:
    start = bot.clock.now() - 30 * DAY
    for n in range(1, 26):
        await add_contact(bot, f"Prospect {n:02d}", at=start + n * MINUTE)
    sent = await bot.send("/pipeline", IVAN)
    text = last_text(sent)
    assert "Due for a call: <b>25</b>" in text and "(page 1 of 3)" in text
    assert names_in(text) == [f"Prospect {n:02d}" for n in range(1, 11)]
    data = [d for _, d in buttons(with_buttons(sent))]
    assert "pl:p:2" in data and "pl:p:0" not in data
    assert all(len(d.encode()) <= 64 and d.isascii() for d in data)
    message_id = with_buttons(sent).message_id

    third = await bot.tap("pl:p:3", message_id)
    assert answered(third) and not alerts(third)
    edit = [r for r in third if r.method == "editMessageText"]
    assert edit and edit[0].params["message_id"] == message_id
    assert names_in(edit[0].params["text"]) == [f"Prospect {n:02d}" for n in range(21, 26)]
    nav = [d for _, d in buttons(edit[0])]
    assert "pl:p:2" in nav and "pl:p:4" not in nav

    forged = await bot.tap("pl:p:9", message_id)
    assert alerts(forged) == [
        "That page is not there any more: the list has changed. Send /pipeline again."
    ]
    assert not [r for r in forged if r.method.startswith("edit")]
    zero = await bot.tap("pl:c:0", message_id)
    assert alerts(zero) and not [r for r in zero if r.method.startswith("edit")]


async def test_someone_elses_pipeline_buttons_do_nothing(bot: BotHarness) -> None:
    await add_contact(bot, "Ivan's Prospect")
    sent = await bot.send("/pipeline", IVAN)
    message_id = with_buttons(sent).message_id
    tapped = await bot.tap("pl:p:1", message_id, OLGA, chat=private_chat(IVAN))
    assert alerts(tapped) == ["Эта кнопка не ваша."]
    assert not [r for r in tapped if r.method.startswith("edit")]
    # in her own chat, Olga sees her own (empty) pipeline, never Ivan's contacts
    own = await bot.tap("pl:p:1", message_id, OLGA)
    assert "Ivan's Prospect" not in last_text(own)
    assert "Звонить сейчас некому" in last_text(own)


async def test_html_in_names_is_escaped(bot: BotHarness) -> None:
    await add_contact(bot, "<Ivan & Co>", company="<b>Bold</b> LLC")
    text = last_text(await bot.send("/pipeline", IVAN))
    assert "&lt;Ivan &amp; Co&gt;" in text and "&lt;b&gt;Bold&lt;/b&gt; LLC" in text
    card = last_text(await bot.send("/contact <Ivan", IVAN))
    assert "👤 <b>&lt;Ivan &amp; Co&gt;</b>" in card


async def test_pipeline_is_private_only(bot: BotHarness) -> None:
    from tests.conftest import group_chat

    sent = await bot.send("/pipeline", IVAN, chat=group_chat())
    assert "private chat" in last_text(sent)
    sent = await bot.send("/contact Ivan", IVAN, chat=group_chat())
    assert "private chat" in last_text(sent)


async def test_never_called_are_counted_up_to_a_cap(bot: BotHarness) -> None:
    now = bot.clock.now()
    for n in range(5):
        await add_contact(bot, f"New {n}")
    called = await add_contact(bot, "Due Call-back")
    await add_call(bot, called, now - DAY, "cl")
    await set_callback(bot, called, now - MINUTE)
    after, before = client_window(now, Rules(tz=MSK))
    count = await bot.store.pipeline.count_due(IVAN.id, now, after, before, cap=3)
    assert (count.callbacks, count.never_called, count.capped, count.total) == (1, 3, True, 4)
    count = await bot.store.pipeline.count_due(IVAN.id, now, after, before, cap=5)
    assert (count.never_called, count.capped) == (5, False)
