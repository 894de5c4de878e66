"""The team in its group, end to end through python-telegram-bot and the fake Bot API:
the bot joining and leaving, /setup, /join, /leave, /settings, /set, migration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import (
    IVAN,
    OLGA,
    BotHarness,
    Person,
    group_chat,
    last_text,
    texts,
)
from tests.team_helpers import AT_BOT, GROUP, GROUP_ID, bot_status, in_group, make_team, to_group

PETR = Person(333, "Petr", "en")
SUPERGROUP_ID = -1001234567890


# -- the bot in the group ------------------------------------------------------------------


async def test_added_to_a_group_greets_once(bot: BotHarness) -> None:
    sent = await bot_status(bot, "left", "member", IVAN)
    greeting = last_text(to_group(sent))
    assert "/setup" in greeting and "/join" in greeting
    assert "https://t.me/ballback_test_bot?start=" in greeting
    # Made an administrator afterwards: no second greeting.
    assert texts(await bot_status(bot, "member", "administrator", IVAN)) == []
    assert await bot.rows("SELECT count(*) FROM teams") == [(0,)]


async def test_membership_of_private_chats_is_ignored(bot: BotHarness) -> None:
    chat = {"id": IVAN.id, "type": "private", "first_name": "Ivan"}
    assert await bot_status(bot, "member", "kicked", IVAN, chat=chat) == []


async def test_setup_by_admin_refused_for_member(bot: BotHarness) -> None:
    bot.api.chat_member_status[OLGA.id] = "member"
    sent = await in_group(bot, "/setup", OLGA)
    assert "админ" in last_text(sent)
    checks = [r for r in sent if r.method == "getChatMember"]
    assert checks and checks[0].params["user_id"] == OLGA.id
    assert checks[0].params["chat_id"] == GROUP_ID
    assert await bot.rows("SELECT count(*) FROM teams") == [(0,)]

    bot.api.chat_member_status[IVAN.id] = "creator"
    sent = await in_group(bot, f"/setup{AT_BOT}", IVAN)
    text = last_text(sent)
    assert "Sales" in text and "/join" in text and "20 calls" in text
    assert await bot.rows("SELECT chat_id, title, tz, active, quota FROM teams") == [
        (GROUP_ID, "Sales", "Europe/Moscow", 1, 20)
    ]
    assert "already a team" in last_text(await in_group(bot, "/setup", IVAN))


async def test_setup_by_an_anonymous_admin(bot: BotHarness) -> None:
    anonymous = Person(1087968824, "Group", None, username="GroupAnonymousBot")
    sent = await bot.send("/setup", anonymous, chat=GROUP, sender_chat=GROUP)
    assert "is now a team" in last_text(sent)
    assert not [r for r in sent if r.method == "getChatMember"]
    refused = await bot.send("/join", anonymous, chat=GROUP, sender_chat=GROUP)
    assert "as yourself" in last_text(refused)
    assert await bot.rows("SELECT count(*) FROM memberships") == [(0,)]


async def test_admin_check_failing_is_said_not_guessed(bot: BotHarness) -> None:
    bot.api.fail_next("getChatMember", status=400, description="Bad Request: chat not found")
    sent = await in_group(bot, "/setup", IVAN)
    assert "try again" in last_text(sent)
    assert await bot.rows("SELECT count(*) FROM teams") == [(0,)]


async def test_join_and_leave_keep_history(bot: BotHarness) -> None:
    assert "ещё не команда" in last_text(await in_group(bot, "/join", OLGA))
    await make_team(bot, IVAN)
    joined = last_text(await in_group(bot, "/join", OLGA))
    assert "Ольга" in joined and "Sales" in joined and "t.me/ballback_test_bot" in joined
    assert "уже" in last_text(await in_group(bot, "/join", OLGA))
    await bot.send("/call Анна Смирнова", OLGA)
    assert "больше не в команде" in last_text(await in_group(bot, "/leave", OLGA))
    assert await bot.rows("SELECT user_id, active FROM memberships") == [(OLGA.id, 0)]
    assert await bot.rows("SELECT count(*) FROM calls WHERE owner_id = ?", OLGA.id) == [(1,)]
    assert "не в этой команде" in last_text(await in_group(bot, "/leave", OLGA))
    await in_group(bot, "/join", OLGA)
    assert await bot.rows("SELECT user_id, active FROM memberships") == [(OLGA.id, 1)]


async def test_commands_with_the_bot_name(bot: BotHarness) -> None:
    await in_group(bot, f"/setup{AT_BOT}", IVAN)
    assert "joined" in last_text(await in_group(bot, f"/join{AT_BOT}", PETR))
    assert "Rules of" in last_text(await in_group(bot, f"/settings{AT_BOT}", PETR))
    assert "Sales" in last_text(await in_group(bot, f"/summary{AT_BOT}", PETR))
    assert "/leaderboard" in last_text(await in_group(bot, f"/help{AT_BOT}", PETR))
    # Addressed to another bot: not ours to answer.
    assert await in_group(bot, "/leave@some_other_bot", PETR) == []
    assert await bot.rows("SELECT active FROM memberships") == [(1,)]


@pytest.mark.parametrize(
    "command",
    [
        "/call Ivan Petrov, Romashka LLC +7 912 345-67-89",
        f"/call{AT_BOT} Ivan Petrov +7 912 345-67-89",
        "/nextstep Ivan Petrov; tomorrow 15:00; demo",
        "/today",
        "/undo",
    ],
)
async def test_private_only_commands_not_run_in_a_group(bot: BotHarness, command: str) -> None:
    await make_team(bot, IVAN, OLGA)
    sent = await in_group(bot, command, OLGA)
    assert len(sent) == 1 and sent[0].method == "sendMessage"
    text = sent[0].params["text"]
    assert "https://t.me/ballback_test_bot?start=" in text and "личном чате" in text
    for secret in ("Petrov", "Romashka", "912", "345"):
        assert secret not in text
    assert await bot.rows("SELECT count(*) FROM calls") == [(0,)]
    assert await bot.rows("SELECT count(*) FROM next_steps") == [(0,)]


async def test_group_only_commands_in_private_point_to_the_group(bot: BotHarness) -> None:
    for command in ("/join", "/setup", "/summary", "/leaderboard"):
        assert "group" in last_text(await bot.send(command, IVAN))


async def test_group_start_and_help(bot: BotHarness) -> None:
    assert "/setup" in last_text(await in_group(bot, f"/start{AT_BOT}", IVAN))
    await make_team(bot, IVAN)
    assert "/summary" in last_text(await in_group(bot, "/start", IVAN))
    help_text = last_text(await in_group(bot, "/help", OLGA))
    assert "/leaderboard" in help_text and "/call" not in help_text


# -- migration and removal ------------------------------------------------------------------


async def test_group_upgraded_to_supergroup_team_follows(bot: BotHarness) -> None:
    team_id = await make_team(bot, IVAN, OLGA)
    await in_group(bot, "/set quota 30", IVAN)
    await bot.send(None, IVAN, chat=GROUP, migrate_to_chat_id=SUPERGROUP_ID)
    supergroup = {"id": SUPERGROUP_ID, "type": "supergroup", "title": "Sales"}
    await bot.send(None, IVAN, chat=supergroup, migrate_from_chat_id=GROUP_ID)  # both arrive
    assert await bot.rows("SELECT id, chat_id, quota FROM teams") == [(team_id, SUPERGROUP_ID, 30)]
    assert await bot.rows("SELECT user_id, active FROM memberships") == [(OLGA.id, 1)]
    sent = await in_group(bot, "/settings", OLGA, chat=supergroup)
    assert "30 звонков" in last_text(sent)


async def test_migration_after_the_old_group_reported_the_bot_gone(bot: BotHarness) -> None:
    await make_team(bot, IVAN, OLGA)
    await bot_status(bot, "member", "left", IVAN)  # the old group is gone with the upgrade
    assert await bot.rows("SELECT active FROM teams") == [(0,)]
    supergroup = {"id": SUPERGROUP_ID, "type": "supergroup", "title": "Sales"}
    await bot.send(None, IVAN, chat=supergroup, migrate_from_chat_id=GROUP_ID)
    assert await bot.rows("SELECT chat_id, active FROM teams") == [(SUPERGROUP_ID, 1)]


async def test_chat_migrated_when_posting(bot: BotHarness) -> None:
    await make_team(bot, IVAN, OLGA)
    bot.api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=SUPERGROUP_ID,
    )
    sent = await in_group(bot, "/summary", IVAN)
    sends = [r for r in sent if r.method == "sendMessage"]
    assert [r.params["chat_id"] for r in sends] == [GROUP_ID, SUPERGROUP_ID]
    assert sends[-1].status == 200 and "Sales" in sends[-1].params["text"]
    assert await bot.rows("SELECT chat_id FROM teams") == [(SUPERGROUP_ID,)]


async def test_kicked_marks_team_inactive_and_readding_resumes(bot: BotHarness) -> None:
    await make_team(bot, IVAN, OLGA)
    await in_group(bot, "/set quota 7", IVAN)
    assert "из 7" in last_text(await bot.send("/call Анна", OLGA))
    sent = await bot_status(bot, "member", "kicked", IVAN)
    assert sent == []  # nothing is posted to a group that removed the bot
    assert await bot.rows("SELECT active FROM teams") == [(0,)]
    # An inactive team's rules no longer apply to its members.
    assert "из 20" in last_text(await bot.send("/call Борис", OLGA))
    resumed = to_group(await bot_status(bot, "left", "member", IVAN))
    assert "again" in last_text(resumed) and "Sales" in last_text(resumed)
    assert await bot.rows("SELECT active, quota FROM teams") == [(1, 7)]
    assert await bot.rows("SELECT user_id, active FROM memberships") == [(OLGA.id, 1)]


async def test_forbidden_post_stops_posting(bot: BotHarness) -> None:
    await make_team(bot, IVAN, OLGA)
    bot.api.fail_next(
        "sendMessage", status=403, description="Forbidden: bot was kicked from the group chat"
    )
    sent = await in_group(bot, "/summary", IVAN)
    assert [r.method for r in sent if r.method.startswith("send")] == ["sendMessage"]
    assert await bot.rows("SELECT active FROM teams") == [(0,)]


async def test_title_change_is_followed(bot: BotHarness) -> None:
    await make_team(bot, IVAN)
    await bot.send(None, IVAN, chat=GROUP, new_chat_title="Sales <East> & Co")
    assert await bot.rows("SELECT title FROM teams") == [("Sales <East> & Co",)]
    text = last_text(await in_group(bot, "/settings", IVAN))
    assert "Sales &lt;East&gt; &amp; Co" in text


# -- settings --------------------------------------------------------------------------------

VALID = [
    ("quota", "25", "SELECT quota FROM teams", (25,), "25 calls"),
    ("quota", "500", "SELECT quota FROM teams", (500,), "500 calls"),
    ("goal", "2", "SELECT goal FROM teams", (2,), "2 balls"),
    ("cycle", "45", "SELECT cycle_days FROM teams", (45,), "45 days"),
    ("block", "10:00-11:00", "SELECT block_start, block_end FROM teams", (600, 660), "10:00–11:00"),
    ("block", "off", "SELECT block_start, block_end FROM teams", (None, None), "not set"),
    ("summary", "18:30", "SELECT summary_at FROM teams", (1110,), "18:30"),
    ("summary", "off", "SELECT summary_at FROM teams", (None,), "off"),
    ("tz", "Asia/Yekaterinburg", "SELECT tz FROM teams", ("Asia/Yekaterinburg",), "11:00 there"),
    ("tz", "Екатеринбург", "SELECT tz FROM teams", ("Asia/Yekaterinburg",), "Yekaterinburg"),
    ("tz", "UTC+5", "SELECT tz FROM teams", ("Etc/GMT-5",), "UTC+5"),
    ("workdays", "mon-sat", "SELECT workdays FROM teams", (63,), "Mon–Sat"),
    ("workdays", "mon,wed,fri", "SELECT workdays FROM teams", (21,), "Mon, Wed, Fri"),
    ("lang", "auto", "SELECT lang FROM teams", ("auto",), "auto"),
]


@pytest.mark.parametrize(("key", "value", "sql", "stored", "shown"), VALID)
async def test_set_valid_values(
    bot: BotHarness, key: str, value: str, sql: str, stored: tuple[object, ...], shown: str
) -> None:
    await make_team(bot, IVAN)
    text = last_text(await in_group(bot, f"/set {key} {value}", IVAN))
    assert text.startswith("✅") and shown in text
    assert (await bot.rows(sql))[0] == stored


INVALID = [
    ("quota", "0", "1 to 500"),
    ("quota", "501", "1 to 500"),
    ("quota", "lots", "1 to 500"),
    ("quota", "", "missing"),
    ("goal", "0", "1 to 100"),
    ("cycle", "400", "1 to 365"),
    ("block", "11:00-10:00", "end after it starts"),
    ("block", "morning", "start-end"),
    ("summary", "25:00", "hours:minutes"),
    ("tz", "Atlantis", "don't know that time zone"),
    ("tz", "UTC+5:30", "whole hours"),
    ("workdays", "someday", "mon-fri"),
    ("lang", "de", "auto"),
]


@pytest.mark.parametrize(("key", "value", "expected"), INVALID)
async def test_set_invalid_values_change_nothing(
    bot: BotHarness, key: str, value: str, expected: str
) -> None:
    await make_team(bot, IVAN)
    before = await bot.rows("SELECT * FROM teams")
    text = last_text(await in_group(bot, f"/set {key} {value}".rstrip(), IVAN))
    assert expected in text and f"/set {key} " in text  # says how to do it right
    assert await bot.rows("SELECT * FROM teams") == before


async def test_set_lang_answers_in_the_new_language(bot: BotHarness) -> None:
    await make_team(bot, IVAN)
    assert "Язык: <b>русский</b>" in last_text(await in_group(bot, "/set lang ru", IVAN))
    assert "Правила команды" in last_text(await in_group(bot, "/settings", IVAN))


async def test_set_refused_for_non_admin(bot: BotHarness) -> None:
    await make_team(bot, IVAN, PETR)
    bot.api.chat_member_status[PETR.id] = "member"
    text = last_text(await in_group(bot, "/set quota 5", PETR))
    assert "Only a group admin" in text
    assert await bot.rows("SELECT quota FROM teams") == [(20,)]
    # Looking is for everyone.
    assert "Rules of" in last_text(await in_group(bot, "/settings", PETR))


async def test_set_usage_and_unknown_key(bot: BotHarness) -> None:
    await make_team(bot, IVAN)
    usage = last_text(await in_group(bot, "/set", IVAN))
    for key in ("quota", "goal", "cycle", "block", "summary", "tz", "workdays", "lang"):
        assert f"/set {key}" in usage
    unknown = last_text(await in_group(bot, "/set <speed> 5", IVAN))
    assert "&lt;speed&gt;" in unknown and "/set quota" in unknown


async def test_group_settings_show_current_values(bot: BotHarness) -> None:
    await make_team(bot, IVAN)
    for command in (
        "/set quota 25",
        "/set block 10-11",
        "/set tz Новосибирск",
        "/set workdays пн-сб",
    ):
        await in_group(bot, command, IVAN)
    text = last_text(await in_group(bot, "/settings", IVAN))
    for part in ("25 calls", "10:00–11:00", "Asia/Novosibirsk", "Mon–Sat", "1 ball", "30 days"):
        assert part in text
    assert "18:00" in text  # the default summary time


async def test_private_settings_and_own_overrides(bot: BotHarness) -> None:
    await make_team(bot, IVAN, OLGA)
    await in_group(bot, "/set block 10:00-11:00", IVAN)
    mine = last_text(await bot.send("/settings", OLGA))
    assert "Sales" in mine and "10:00–11:00" in mine and "Europe/Moscow" in mine
    assert "(командное)" in mine

    done = last_text(await bot.send("/set tz Asia/Novosibirsk", OLGA))
    assert "Asia/Novosibirsk" in done and "13:00" in done  # 09:00 Moscow is 13:00 there
    done = last_text(await bot.send("/set block 09:00-10:00", OLGA))
    assert "09:00–10:00" in done
    assert await bot.rows("SELECT tz, block_start, block_end FROM users WHERE id = ?", OLGA.id) == [
        ("Asia/Novosibirsk", 540, 600)
    ]
    mine = last_text(await bot.send("/settings", OLGA))
    assert "Asia/Novosibirsk" in mine and "09:00–10:00" in mine and "(ваше значение)" in mine

    refused = last_text(await bot.send("/set quota 30", OLGA))
    assert "настройка команды" in refused
    assert await bot.rows("SELECT quota FROM teams") == [(20,)]
    assert "часового пояса" in last_text(await bot.send("/set tz Марс", OLGA))

    reset = last_text(await bot.send("/set tz team", OLGA))
    assert "Europe/Moscow" in reset
    reset = last_text(await bot.send("/set block сброс", OLGA))
    assert "10:00–11:00" in reset
    assert await bot.rows("SELECT tz, block_start FROM users WHERE id = ?", OLGA.id) == [
        (None, None)
    ]
    usage = last_text(await bot.send("/set", OLGA))
    assert "/set tz" in usage and "/set block" in usage


async def test_private_settings_without_a_team(bot: BotHarness) -> None:
    text = last_text(await bot.send("/settings", IVAN))
    assert "not in a team" in text and "20 calls" in text and "default" in text


# -- the rules a rep works by ----------------------------------------------------------------


async def test_team_rules_reach_private_chat(bot: BotHarness) -> None:
    await make_team(bot, IVAN, OLGA)
    await in_group(bot, "/set quota 25", IVAN)
    await in_group(bot, "/set lang en", IVAN)
    text = last_text(await bot.send("/call Anna Smirnova", OLGA))
    assert "Call 1 of 25" in text  # the team's quota, in the team's language
    await in_group(bot, "/set tz Asia/Vladivostok", IVAN)
    bot.clock.set(datetime(2026, 11, 27, 20, 30, tzinfo=UTC))  # 23:30 Fri Moscow, 06:30 Sat there
    assert "Sat 28 Nov" in last_text(await bot.send("/today", OLGA))
    await bot.send("/set tz Europe/Moscow", OLGA)  # her own zone wins
    assert "Fri 27 Nov" in last_text(await bot.send("/today", OLGA))


async def test_several_teams_follow_the_last_joined(bot: BotHarness) -> None:
    east = group_chat(-100777, "East")
    await make_team(bot, IVAN, OLGA)
    await make_team(bot, IVAN, chat=east)
    await in_group(bot, "/set quota 15", IVAN, chat=east)
    joined = last_text(await in_group(bot, "/join", OLGA, chat=east))
    assert "последней" in joined
    assert "из 15" in last_text(await bot.send("/call Анна", OLGA))
    await in_group(bot, "/leave", OLGA, chat=east)
    assert "из 20" in last_text(await bot.send("/call Борис", OLGA))


async def test_group_command_menu(bot: BotHarness) -> None:
    menus = bot.api.calls("setMyCommands")
    groups = [m for m in menus if m.params.get("scope", {}).get("type") == "all_group_chats"]
    assert {m.params.get("language_code") for m in groups} == {None, "ru", "en"}
    for menu in groups:
        names = [c["command"] for c in menu.params["commands"]]
        assert {"summary", "leaderboard", "join", "leave", "settings", "set", "setup"} <= set(names)
    private = [m for m in menus if m.params.get("scope", {}).get("type") == "all_private_chats"]
    assert all("settings" in [c["command"] for c in m.params["commands"]] for m in private)
