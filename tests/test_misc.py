"""/start, /help, the catch-alls, the group guard, the command menu, errors, logs, restarts."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update

from bot.config import Settings
from bot.logs import QUIET_LOGGERS, REDACTED, RedactingFormatter, make_handler, setup_logging
from handlers import PRIVATE_COMMANDS, TEAM_PRIVATE_COMMANDS
from handlers.common import MAX_CALLBACK_BYTES, button
from tests.conftest import (
    IVAN,
    OLGA,
    TOKEN,
    BotHarness,
    Person,
    buttons,
    group_chat,
    last_text,
    message_json,
    restart,
    texts,
    with_buttons,
)

TABLES = ("users", "contacts", "calls", "next_steps", "flows")
ERROR_EN = "😕 Something went wrong on my side. Nothing you saved was lost; please try again."
HINT_EN = (
    "I log calls and Next Steps. Try <code>/call Ivan Petrov</code> or /today. All commands: /help"
)
STICKER = {
    "file_id": "CAACAgIAAxkBAAI",
    "file_unique_id": "AgADAQAD",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
PHOTO = [{"file_id": "AgACAgIAAxkBAAI", "file_unique_id": "AQADAQAD", "width": 90, "height": 90}]


async def stored(bot: BotHarness) -> dict[str, int]:
    return {table: (await bot.rows(f"SELECT count(*) FROM {table}"))[0][0] for table in TABLES}


NOTHING = dict.fromkeys(TABLES, 0)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What Ballback's own log handler writes, as it would on stderr."""
    stream = io.StringIO()
    handler = make_handler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# -- /start and /help ----------------------------------------------------------------------------


async def test_start_explains_the_method_and_registers_the_rep(bot: BotHarness) -> None:
    anna = Person(555, "Anna", "en-GB", last_name="Smirnova", username="anna_s")
    text = last_text(await bot.send("/start", anna))
    assert text.startswith("👋 Hi, Anna!")
    assert "ball" in text and "Next Step with a date" in text and "30 days" in text
    assert "20 calls a day" in text
    assert "Start now: <code>/call " in text  # what to do first
    assert len(text.splitlines()) <= 8
    assert await bot.rows(
        "SELECT id, first_name, last_name, username, language_code, lang, tz, started_at FROM users"
    ) == [
        (555, "Anna", "Smirnova", "anna_s", "en-GB", None, None, int(bot.clock.now().timestamp()))
    ]


async def test_start_in_russian_and_again_after_a_rename(bot: BotHarness) -> None:
    assert last_text(await bot.send("/start", OLGA)).startswith("👋 Привет, Ольга!")
    renamed = Person(OLGA.id, "Оля", "ru", username="olya")
    await bot.send("/start", renamed)
    assert await bot.rows("SELECT first_name, username, language_code FROM users") == [
        ("Оля", "olya", "ru")
    ]


@pytest.mark.parametrize("person", [IVAN, OLGA], ids=["en", "ru"])
async def test_help_lists_every_command_with_an_example(bot: BotHarness, person: Person) -> None:
    text = last_text(await bot.send("/help", person))
    for command in PRIVATE_COMMANDS:
        assert f"\n/{command}" in text, command
        assert f"<code>/{command}" in text, command


# -- the catch-alls ------------------------------------------------------------------------------


async def test_an_unknown_command(bot: BotHarness) -> None:
    sent = await bot.send("/frobnicate now")
    assert texts(sent) == ["I don't know that command. /help lists what I can do."]
    assert await stored(bot) == NOTHING


async def test_plain_text_outside_a_flow_gets_a_one_line_hint(bot: BotHarness) -> None:
    sent = await bot.send("hello, is this thing on?")
    assert texts(sent) == [HINT_EN]
    assert "\n" not in HINT_EN


@pytest.mark.parametrize(
    "extra", [{"sticker": STICKER}, {"photo": PHOTO}], ids=["sticker", "photo"]
)
async def test_a_sticker_or_photo_gets_the_hint_not_silence(
    bot: BotHarness, extra: dict[str, Any]
) -> None:
    sent = await bot.send(None, IVAN, **extra)
    assert texts(sent) == [HINT_EN]
    assert await stored(bot) == NOTHING


async def test_an_edited_command_acts_on_nothing(bot: BotHarness) -> None:
    sent = await bot.send("/call Ivan Petrov +7 912 345-67-89", edited=True)
    assert texts(sent) == [
        "Editing a message doesn't change what I saved. To fix an entry, /undo it and send it "
        "again."
    ]
    assert await stored(bot) == NOTHING
    russian = last_text(await bot.send("/today", OLGA, edited=True))
    assert russian.startswith("Правка сообщения не меняет сохранённое.")


async def test_an_edit_in_a_group_is_ignored(bot: BotHarness) -> None:
    assert await bot.send("/call@ballback_test_bot Ivan", chat=group_chat(), edited=True) == []


# -- groups --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "/call Ivan Petrov, Romashka LLC +7 912 345-67-89",
        "/call@ballback_test_bot Ivan Petrov, Romashka LLC +7 912 345-67-89",
        "/nextstep Ivan Petrov; tomorrow 15:00; demo",
        "/nextstep@ballback_test_bot Ivan Petrov",
        "/today",
        "/today@ballback_test_bot",
        "/undo",
        "/cancel",
    ],
)
async def test_a_private_command_in_a_group_runs_nothing_and_links_to_the_chat(
    bot: BotHarness, text: str
) -> None:
    sent = await bot.send(text, IVAN, chat=group_chat())
    assert [r.method for r in sent] == ["sendMessage"]
    reply = sent[0].params
    assert reply["chat_id"] == group_chat()["id"]
    command = text.split()[0][1:].split("@")[0]
    assert (
        f'<a href="https://t.me/ballback_test_bot?start={command}">open the chat</a>'
        in (reply["text"])
    )
    for private in ("Ivan", "Petrov", "Romashka", "912", "345", "demo"):
        assert private not in reply["text"]
    assert await stored(bot) == NOTHING


async def test_help_works_in_a_group_and_other_bots_commands_are_left_alone(
    bot: BotHarness,
) -> None:
    group_help = last_text(await bot.send("/help@ballback_test_bot", chat=group_chat()))
    assert "/join" in group_help and "/summary" in group_help
    assert await bot.send("/call@another_bot Ivan", chat=group_chat()) == []
    assert await bot.send("just chatting", chat=group_chat()) == []


# -- the command menu ----------------------------------------------------------------------------


async def test_the_command_menu_is_set_in_russian_and_english(bot: BotHarness) -> None:
    requests = [
        r
        for r in bot.api.calls("setMyCommands")
        if r.params["scope"] == {"type": "all_private_chats"}
    ]
    by_language = {r.params.get("language_code"): r.params for r in requests}
    assert set(by_language) == {"ru", "en", None}
    for params in by_language.values():
        assert params["scope"] == {"type": "all_private_chats"}
        names = [c["command"] for c in params["commands"]]
        assert names == [*PRIVATE_COMMANDS, *TEAM_PRIVATE_COMMANDS]
    descriptions = {
        lang: params["commands"][0]["description"] for lang, params in by_language.items()
    }
    assert descriptions == {"ru": "Записать звонок", "en": "Log a call", None: "Log a call"}


# -- errors --------------------------------------------------------------------------------------


async def test_a_failing_handler_is_logged_with_context_and_the_rep_is_told(
    bot: BotHarness, log_output: io.StringIO
) -> None:
    bot.api.fail_next(
        "sendMessage", status=400, description=f"Bad Request: can't parse entities {TOKEN}"
    )
    sent = await bot.send("/today")
    assert [(r.method, r.status) for r in sent] == [("sendMessage", 400), ("sendMessage", 200)]
    assert texts(sent)[-1] == ERROR_EN
    log = log_output.getvalue()
    assert "handler failed (update=" in log
    assert f"user={IVAN.id} chat={IVAN.id} command='/today')" in log
    assert "Traceback" in log and "telegram.error.BadRequest" in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log and REDACTED in log
    # The bot goes on with the next update.
    assert "Calls: <b>0</b> of 20" in last_text(await bot.send("/today"))


async def test_a_closed_database_fails_gracefully_and_recovers(
    bot: BotHarness, log_output: io.StringIO
) -> None:
    # Both updates are stored on arrival; the database goes away before they are handled.
    message = message_json("/call Ivan Petrov", IVAN, date=bot.clock.now())
    query = {
        "id": "q1",
        "from": IVAN.as_dict(),
        "chat_instance": "1",
        "data": "u:c:1",
        "message": message_json("…", IVAN, message_id=7, date=bot.clock.now()),
    }
    for update_id, update in enumerate(({"message": message}, {"callback_query": query}), 9001):
        update_json = {"update_id": update_id, **update}
        await bot.app.update_queue.put(Update.de_json(update_json, bot.app.bot))
    await bot.db.close()
    before = len(bot.api.requests)
    await bot.handle_queued()
    sent = bot.api.requests[before:]
    assert texts(sent[:1]) == [ERROR_EN]
    tap = sent[1:]
    assert [r.method for r in tap] == ["answerCallbackQuery"]
    assert tap[0].params == {
        "callback_query_id": tap[0].params["callback_query_id"],
        "text": ERROR_EN,
        "show_alert": True,
    }
    assert "database is not open" in log_output.getvalue()
    assert "Ivan Petrov" not in log_output.getvalue()  # what the rep typed stays out of logs
    await bot.db.open()
    assert "How did it go?" in last_text(await bot.send("/call Ivan Petrov"))


async def test_a_blocked_chat_is_logged_without_a_reply(
    bot: BotHarness, log_output: io.StringIO
) -> None:
    bot.api.fail_next(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    sent = await bot.send("/help")
    assert [(r.method, r.status) for r in sent] == [("sendMessage", 403)]
    assert "forbidden (update=" in log_output.getvalue()


# -- restart -------------------------------------------------------------------------------------


async def test_a_restart_loses_nothing(bot: BotHarness, settings: Settings) -> None:
    prompt = with_buttons(await bot.send("/call Anna Sokolova"))
    call_id = next(d for _, d in buttons(prompt) if d.startswith("o:")).split(":")[1]
    await bot.tap(f"o:{call_id}:na", prompt.message_id)
    await bot.send("/nextstep Boris Lebedev; today 15:00; demo")
    await restart(bot, settings)
    text = last_text(await bot.send("/today"))
    assert "Calls: <b>1</b> of 20" in text
    assert "Balls back: <b>1</b>" in text
    assert "• 15:00 demo with <b>Boris Lebedev</b>" in text
    assert await bot.rows("SELECT outcome FROM calls") == [("na",)]


# -- logs ----------------------------------------------------------------------------------------


def test_a_token_is_redacted_from_message_args_and_traceback() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("ballback.test.redaction")
    handler = make_handler(stream, secrets=["hunter2-not-token-shaped"])
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(f"POST https://api.telegram.org/bot{TOKEN}/getMe")
        logger.warning("args: %s and %r", TOKEN, {"url": f"bot{TOKEN}"})
        logger.warning("url-encoded: %s", TOKEN.replace(":", "%3A"))
        logger.warning("a configured secret: hunter2-not-token-shaped")
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            logger.exception("with a traceback")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    out = stream.getvalue()
    secret_part = TOKEN.split(":")[1]
    assert secret_part not in out and "hunter2" not in out
    assert out.count(REDACTED) == 6
    assert "Traceback" in out and "RuntimeError: request to /bot<token>/sendMessage failed" in out


def test_setup_logging_quiets_http_clients_and_redacts() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        handler = setup_logging("DEBUG", stream=stream)
        assert root.handlers == [handler]
        assert isinstance(handler.formatter, RedactingFormatter)
        for name in QUIET_LOGGERS:
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
        logging.getLogger("httpx").info(f"HTTP Request: POST https://x/bot{TOKEN}/getMe")
        logging.getLogger("ballback").debug("token %s", TOKEN)
        assert stream.getvalue().count("\n") == 1
        assert "DEBUG ballback: token <token>" in stream.getvalue()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.captureWarnings(False)


# -- buttons -------------------------------------------------------------------------------------


def test_button_refuses_callback_data_over_64_bytes() -> None:
    assert button("ok", "x" * MAX_CALLBACK_BYTES).callback_data == "x" * 64
    assert button("ok", "я" * 32).callback_data == "я" * 32  # 64 bytes
    with pytest.raises(ValueError, match="64 bytes"):
        button("too long", "x" * 65)
    with pytest.raises(ValueError, match="64 bytes"):
        button("too long", "я" * 33)


async def test_the_team_language_wins_over_telegrams_in_every_reply(bot: BotHarness) -> None:
    from tests.team_helpers import in_group, make_team

    await make_team(bot, IVAN, IVAN)
    await in_group(bot, "/set lang ru", IVAN)
    assert last_text(await bot.send("/help", IVAN)).startswith("<b>Команды</b>")
    assert last_text(await bot.send("/frobnicate", IVAN)).startswith("Такой команды")
    assert "личном чате" in last_text(await in_group(bot, "/today", IVAN))
