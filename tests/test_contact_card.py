"""/contact: finding a contact, the card, and what its buttons do."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import IVAN, OLGA, BotHarness, buttons, last_text, texts, with_buttons
from tests.history import add_call, add_contact, add_step, alerts

DAY = timedelta(days=1)


async def card_of(bot: BotHarness, name: str) -> tuple[str, int, list[str]]:
    sent = await bot.send(f"/contact {name}", IVAN)
    request = with_buttons(sent)
    return request.params["text"], request.message_id, [d for _, d in buttons(request)]


async def test_the_card_shows_the_whole_history_newest_first(bot: BotHarness) -> None:
    now = bot.clock.now()
    ivan = await add_contact(bot, "Ivan Petrov", company="Romashka LLC", phone="+79123456789")
    await add_call(bot, ivan, now - 3 * DAY, "na")
    await add_call(bot, ivan, now - 2 * DAY, "th")
    await add_step(bot, ivan, now - DAY, created=now - 5 * DAY, action="Demo", status="done")
    await add_call(bot, ivan, now - DAY, None)
    await add_step(
        bot, ivan, now + DAY, created=now - timedelta(minutes=1), action="Meeting at their office"
    )

    text, _, data = await card_of(bot, "ivan petrov")
    assert text.startswith("👤 <b>Ivan Petrov</b>\n🏢 Romashka LLC\n📞 +7 912 345-67-89\n")
    assert "🎾 Client: Meeting at their office, Sat 28 Nov 09:00" in text
    steps = text.index("<b>Next Steps</b> (2)")
    calls = text.index("<b>Calls</b> (3)")
    assert (
        steps
        < text.index("Meeting at their office, Sat 28 Nov 09:00 (open)")
        < text.index("Demo, Thu 26 Nov 09:00 (done)")
    )
    newest, middle, oldest = (
        text.index("Thu 26 Nov 09:00: no outcome yet"),
        text.index("Wed 25 Nov 09:00: “I'll think”"),
        text.index("Tue 24 Nov 09:00: No answer"),
    )
    assert calls < newest < middle < oldest
    cid = str(ivan)
    assert data == [f"k:c:{cid}", f"k:n:{cid}", f"k:p:{cid}", f"k:o:{cid}", f"k:a:{cid}"]


async def test_a_long_history_fits_one_message(bot: BotHarness) -> None:
    now = bot.clock.now()
    busy = await add_contact(bot, "Busy", company="C" * 100)
    for n in range(40):
        await add_call(bot, busy, now - (n + 1) * timedelta(hours=3), "na")
    for n in range(15):
        await add_step(bot, busy, now - n * DAY, action="A" * 300, created=now - (n + 1) * DAY)
    text, _, _ = await card_of(bot, "Busy")
    assert len(text) <= 4096
    assert "… and 25 older" in text and "… and 5 older" in text


async def test_finding_a_contact(bot: BotHarness) -> None:
    await add_contact(bot, "Ivan Petrov", phone="+79123456789")
    await add_contact(bot, "Ivan Sidorov")
    await add_contact(bot, "Olga 50%_off")
    picker = await bot.send("/contact ivan", IVAN)
    assert last_text(picker) == "Several contacts match. Which one?"
    assert [label for label, _ in buttons(with_buttons(picker))] == ["Ivan Petrov", "Ivan Sidorov"]
    assert "👤 <b>Ivan Sidorov</b>" in last_text(await bot.send("/contact sidor", IVAN))
    by_phone = last_text(await bot.send("/contact 8 912 345-67-89", IVAN))
    assert "👤 <b>Ivan Petrov</b>" in by_phone
    assert "👤 <b>Olga 50%_off</b>" in last_text(await bot.send("/contact 50%_", IVAN))
    none = last_text(await bot.send("/contact %s", IVAN))  # a wildcard only when unescaped
    assert none.startswith("No contact matches <b>%s</b>")
    usage = await bot.send("/contact", IVAN)
    assert "Whose card?" in last_text(usage) and buttons(with_buttons(usage))
    # Olga has none of Ivan's contacts
    assert last_text(await bot.send("/contact Ivan", OLGA)).startswith("Нет контакта")


async def test_log_a_call_from_the_card(bot: BotHarness) -> None:
    ivan = await add_contact(bot, "Ivan Petrov", phone="+79123456789")
    _, card_id, _ = await card_of(bot, "Ivan Petrov")
    tapped = await bot.tap(f"k:c:{ivan}", card_id)
    logged = with_buttons(tapped)
    assert logged.params["text"].startswith("📞 Call 1 of 20 today: <b>Ivan Petrov</b>")
    outcome_data = [d for _, d in buttons(logged)]
    call_id = (await bot.rows("SELECT id FROM calls WHERE contact_id = ?", ivan))[0][0]
    assert f"o:{call_id}:na" in outcome_data
    # the outcome buttons are the usual ones
    result = await bot.tap(f"o:{call_id}:na", logged.message_id)
    assert "No answer" in last_text(result)
    # a second tap on the same card adds no second call
    again = await bot.tap(f"k:c:{ivan}", card_id)
    assert alerts(again) == ["This card already logged a call. Open a fresh one with /contact."]
    assert await bot.rows("SELECT contact_id, outcome FROM calls") == [(ivan, "na")]


async def test_add_a_next_step_from_the_card(bot: BotHarness) -> None:
    ivan = await add_contact(bot, "Ivan Petrov")
    _, card_id, _ = await card_of(bot, "Ivan Petrov")
    tapped = await bot.tap(f"k:n:{ivan}", card_id)
    assert "Next Step with <b>Ivan Petrov</b>: when?" in last_text(tapped)
    await bot.send("tomorrow 15:00", IVAN)
    saved = await bot.send("Demo at their office", IVAN)
    assert "The ball came back!" in last_text(saved)
    assert await bot.rows("SELECT contact_id, action, kind FROM next_steps") == [
        (ivan, "Demo at their office", "ball")
    ]


async def test_edit_phone_and_company(bot: BotHarness) -> None:
    ivan = await add_contact(bot, "Ivan Petrov", company="Old LLC")
    _, card_id, _ = await card_of(bot, "Ivan Petrov")
    prompt = await bot.tap(f"k:p:{ivan}", card_id)
    assert "Send the new phone number for <b>Ivan Petrov</b>" in last_text(prompt)
    bad = await bot.send("twelve", IVAN)
    assert last_text(bad).startswith("I couldn't read that phone number.")
    saved = await bot.send("8 (913) 111-22-33", IVAN)
    assert last_text(saved).startswith("✅ Saved.\n\n👤 <b>Ivan Petrov</b>")
    assert "📞 +7 913 111-22-33" in last_text(saved)
    assert await bot.rows("SELECT phone FROM contacts WHERE id = ?", ivan) == [("+79131112233",)]
    # the flow is over: the next text is not taken as a phone
    assert "I log calls" in last_text(await bot.send("8 913 000-00-00", IVAN))

    await bot.tap(f"k:o:{ivan}", card_id)
    too_long = await bot.send("X" * 101, IVAN)
    assert "100 characters at most" in last_text(too_long)
    await bot.send("  New   Company  ", IVAN)
    assert await bot.rows("SELECT company FROM contacts WHERE id = ?", ivan) == [("New Company",)]
    await bot.tap(f"k:p:{ivan}", card_id)
    await bot.send("-", IVAN)
    assert await bot.rows("SELECT phone FROM contacts WHERE id = ?", ivan) == [(None,)]
    # /cancel leaves it as it is
    await bot.tap(f"k:o:{ivan}", card_id)
    assert "left that question" in last_text(await bot.send("/cancel", IVAN))
    assert await bot.rows("SELECT company FROM contacts WHERE id = ?", ivan) == [("New Company",)]


async def test_archive_takes_a_contact_out_of_the_lists(bot: BotHarness) -> None:
    ivan = await add_contact(bot, "Ivan Petrov")
    assert "Ivan Petrov" in last_text(await bot.send("/pipeline", IVAN))
    _, card_id, _ = await card_of(bot, "Ivan Petrov")
    tapped = await bot.tap(f"k:a:{ivan}", card_id)
    answers = [r.params for r in tapped if r.method == "answerCallbackQuery"]
    assert answers[0]["text"] == "🗄 Archived: Ivan Petrov is out of your lists."
    edited = next(r for r in tapped if r.method == "editMessageText")
    assert "🗄 Archived" in edited.params["text"]
    assert ("♻️ Restore", f"k:r:{ivan}") in buttons(edited)
    assert await bot.rows("SELECT archived FROM contacts") == [(1,)]
    pipeline = last_text(await bot.send("/pipeline", IVAN))
    assert "Ivan Petrov" not in pipeline and "Due for a call: <b>0</b>" in pipeline

    await bot.tap(f"k:r:{ivan}", card_id)
    assert await bot.rows("SELECT archived FROM contacts") == [(0,)]
    assert "Ivan Petrov" in last_text(await bot.send("/pipeline", IVAN))


async def test_card_buttons_check_the_owner(bot: BotHarness) -> None:
    ivan = await add_contact(bot, "Ivan Petrov")
    _, card_id, _ = await card_of(bot, "Ivan Petrov")
    for op in "vcnpoar":
        tapped = await bot.tap(f"k:{op}:{ivan}", card_id, OLGA)
        assert alerts(tapped) == ["Эта кнопка не ваша."], op
        assert not [r for r in tapped if r.method in ("sendMessage", "editMessageText")]
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]
    assert await bot.rows("SELECT archived FROM contacts") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM flows") == [(0,)]
    gone = await bot.tap("k:v:999999", card_id)
    assert alerts(gone) == ["This button is out of date. Start again with /call or /nextstep."]


async def test_the_pipeline_list_opens_cards(bot: BotHarness) -> None:
    anna = await add_contact(bot, "Anna")
    sent = await bot.send("/pipeline", IVAN)
    assert ("1. Anna", f"k:v:{anna}") in buttons(with_buttons(sent))
    opened = await bot.tap(f"k:v:{anna}", with_buttons(sent).message_id)
    assert texts(opened)[-1].startswith("👤 <b>Anna</b>")
