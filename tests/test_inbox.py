"""The durable inbox, in process: stored before Telegram is told, replayed once, poison given up.

A crash is reproduced exactly where it matters without killing anything: while the bot's reply
is held open by the fake Bot API (the unit of work committed, the reply not answered), the
database is copied with ``ballback backup``, a consistent snapshot of the committed state:
what a SIGKILL at that instant leaves on disk. A new application then starts on the copy. The
real-process kills are in ``tests/test_crash.py``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import ops
from bot.app import BallbackApp
from bot.clock import ManualClock
from bot.config import Settings
from bot.inbox import MAX_ATTEMPTS
from storage import db as db_module
from tests.conftest import (
    IVAN,
    OLGA,
    START,
    BotHarness,
    Person,
    buttons,
    message_json,
    private_chat,
    start_app,
    stop_app,
    texts,
)
from tests.fakeapi import FakeBotAPI, RecordedRequest

# About the SQLite file itself (its snapshots, its processes): PostgreSQL has its own tests.
pytestmark = pytest.mark.sqlite_only

ERROR_EN = "😕 Something went wrong on my side. Nothing you saved was lost; please try again."


def inbox_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT update_id, chat_id, user_id, payload IS NOT NULL, attempts, "
            "done_at IS NOT NULL, outcome FROM inbox ORDER BY update_id"
        ).fetchall()


def count(path: Path, sql: str, *params: Any) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def call_update(update_id: int, text: str, who: Person = IVAN) -> dict[str, Any]:
    return {"update_id": update_id, "message": message_json(text, who, date=START)}


def button_update(update_id: int, data: str, message_id: int, who: Person = IVAN) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": who.as_dict(),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(START.timestamp()),
                "chat": private_chat(who),
                "from": {"id": 1000, "is_bot": True, "first_name": "Ballback"},
                "text": "…",
            },
        },
    }


@asynccontextmanager
async def polling(settings: Settings, api: FakeBotAPI) -> AsyncIterator[BallbackApp]:
    """The application as ``ballback run`` runs it: long polling the fake API."""
    app = await start_app(settings, api, ManualClock(START))
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await stop_app(app)


def with_text(requests: list[RecordedRequest], needle: str) -> list[RecordedRequest]:
    return [r for r in requests if needle in str(r.params.get("text", ""))]


async def test_stored_before_telegram_is_told_and_done_only_after_the_reply(
    settings: Settings, api: FakeBotAPI
) -> None:
    api.hang_next("sendMessage")  # the reply never gets an answer: handling stays open
    async with polling(settings, api):
        update_id = api.push_update({"message": message_json("/call Anna", IVAN, date=START)})
        await api.wait_for("sendMessage")
        # The poller has asked for the next batch, which tells Telegram this one arrived...
        confirmed = await api.wait_until(
            lambda: any(r.params.get("offset", 0) > update_id for r in api.calls("getUpdates")),
            timeout=5,
        )
        assert confirmed
        # ...and by then the update was in the database, not done: its reply is still out.
        ((stored_id, chat, user, has_payload, attempts, done, outcome),) = inbox_rows(
            settings.database
        )
        assert (stored_id, chat, user, has_payload, done) == (update_id, IVAN.id, IVAN.id, 1, 0)
        assert (attempts, outcome) == (0, None)
        with sqlite3.connect(settings.database) as conn:
            (payload,) = conn.execute("SELECT payload FROM inbox").fetchone()
        assert json.loads(payload)["message"]["text"] == "/call Anna"
        await api.stop()  # lets the held reply fail at once instead of timing out


async def test_a_handled_update_is_done_without_its_content(bot: BotHarness) -> None:
    await bot.send("/call Anna Petrova, Romashka")
    ((_, chat, user, has_payload, attempts, done, outcome),) = inbox_rows(bot.db_path)
    assert (chat, user, has_payload, attempts, done, outcome) == (IVAN.id, IVAN.id, 0, 0, 1, "ok")
    assert count(bot.db_path, "SELECT count(*) FROM inbox_effects") == 0  # gone when done


async def test_an_update_that_arrives_again_is_not_handled_again(bot: BotHarness) -> None:
    update = call_update(77, "/call Anna Petrova")
    first = await bot.feed(update)
    assert len(with_text(first, "Anna Petrova")) == 1
    again = await bot.feed(json.loads(json.dumps(update)))  # Telegram sends the batch again
    assert again == []
    assert count(bot.db_path, "SELECT count(*) FROM calls") == 1


def serve_file(api: FakeBotAPI) -> None:
    api.register_file("doc-1", "documents/doc-1", CSV)


CSV = b"Name;Phone;Company\r\nAnna Petrova;+7 912 345-67-89;Romashka\r\nBoris;;\r\n"
DOCUMENT = {"file_id": "doc-1", "file_unique_id": "u-doc-1", "file_name": "leads.csv"}


async def snapshot_while_held(
    settings: Settings,
    tmp_path: Path,
    hold: str,
    updates: list[dict[str, Any]],
    prepare: Callable[[FakeBotAPI], None] = lambda api: None,
) -> tuple[Path, list[RecordedRequest]]:
    """Run the bot on ``updates`` with the first ``hold`` request held open; copy the
    database at that moment (what a crash then leaves). Returns the copy and all requests."""
    async with FakeBotAPI() as api:
        prepare(api)
        api.hang_next(hold)
        async with polling(settings, api):
            for update in updates:
                api.push_update(update)
            await api.wait_until(lambda: bool(api.hung), timeout=10)
            assert api.hung, f"no {hold} was sent: {[r.method for r in api.requests]}"
            copy = tmp_path / "crashed.db"
            ops.backup_database(settings.database, copy)  # the inbox is in the backup too
            seen = list(api.requests)
            await api.stop()  # this run's ending is not the test's business: make it short
        return copy, seen


async def test_crash_between_commit_and_reply_sends_the_reply_once_and_writes_once(
    settings: Settings, tmp_path: Path
) -> None:
    call = call_update(500, "/call Anna Petrova")
    copy, before = await snapshot_while_held(settings, tmp_path, "sendMessage", [call])
    assert len(with_text(before, "Anna Petrova")) == 1  # sent, never answered
    assert count(copy, "SELECT count(*) FROM calls") == 1  # committed before the reply
    assert [row[0] for row in inbox_rows(copy) if not row[5]] == [500]  # pending

    restarted = settings.model_copy(update={"database": copy})
    async with FakeBotAPI() as api:
        api.push_update(json.loads(json.dumps(call)))  # Telegram had not been told either
        async with polling(restarted, api):
            await api.wait_for("sendMessage")
            await api.wait_for("getUpdates", 3)  # the redelivered batch was read too
            await api.wait_until(lambda: all(row[5] for row in inbox_rows(copy)), timeout=5)
        replies = with_text(api.calls("sendMessage"), "Anna Petrova")
    assert len(replies) == 1  # the reply the rep never saw, once
    assert any(data.endswith(":na") for _, data in buttons(replies[0]))  # with its buttons
    assert count(copy, "SELECT count(*) FROM calls") == 1  # not logged twice
    assert count(copy, "SELECT calls FROM day_counts") == 1
    assert inbox_rows(copy)[0][4:] == (1, 1, "ok")  # one attempt cut short, then done


async def test_crash_between_outcome_and_edit_edits_once_and_counts_once(
    settings: Settings, tmp_path: Path, api: FakeBotAPI
) -> None:
    async with polling(settings, api):
        api.push_update(call_update(600, "/call Anna Petrova"))
        (reply,) = await api.wait_for("sendMessage")
    data = next(d for _, d in buttons(reply) if d.endswith(":th"))  # "I'll think about it"
    press = button_update(601, data, reply.message_id)
    copy, _ = await snapshot_while_held(settings, tmp_path, "editMessageText", [press])
    assert count(copy, "SELECT count(*) FROM calls WHERE outcome = 'th'") == 1
    assert count(copy, "SELECT polite_nos FROM day_counts") == 1

    after = await replay_on(copy, settings, "editMessageText")
    edits = [r for r in after if r.method == "editMessageText"]
    answers = [r for r in after if r.method == "answerCallbackQuery"]
    assert len(edits) == 1 and edits[0].params["message_id"] == reply.message_id
    assert "think" in edits[0].params["text"].lower()
    assert len(answers) == 1  # answered (Telegram may find it too old: only logged)
    assert count(copy, "SELECT polite_nos FROM day_counts") == 1  # not counted twice
    assert count(copy, "SELECT count(*) FROM calls") == 1


def seed_pending(path: Path, rows: list[tuple[dict[str, Any], int]]) -> None:
    """Updates the last run stored and did not finish, with the attempts already cut short."""
    with sqlite3.connect(path) as conn:
        for update, attempts in rows:
            who = (update.get("message") or update["callback_query"])["from"]["id"]
            conn.execute(
                "INSERT INTO inbox (update_id, chat_id, user_id, payload, received_at, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (update["update_id"], who, who, json.dumps(update), 0, attempts),
            )


async def test_replay_runs_before_new_updates_in_order_per_chat(
    settings: Settings, api: FakeBotAPI
) -> None:
    app = await start_app(settings, api, ManualClock(START))  # creates the file
    await stop_app(app)
    seed_pending(
        settings.database,
        [
            (call_update(10, "/call First Ivan"), 0),
            (call_update(11, "/call First Olga", OLGA), 0),
            (call_update(12, "/call Second Ivan"), 0),
        ],
    )
    async with polling(settings, api):
        api.push_update(call_update(20, "/call Third Ivan"))
        await api.wait_for("sendMessage", 4)
        await api.wait_until(lambda: all(row[5] for row in inbox_rows(settings.database)))
    ivan = [r.params["text"] for r in api.calls("sendMessage") if r.params["chat_id"] == IVAN.id]
    order = [name for text in ivan for name in ("First", "Second", "Third") if name in text]
    assert order == ["First", "Second", "Third"]
    assert len(with_text(api.calls("sendMessage"), "First Olga")) == 1
    with sqlite3.connect(settings.database) as conn:
        names = sorted(n for (n,) in conn.execute("SELECT name FROM contacts"))
    assert names == ["First Ivan", "First Olga", "Second Ivan", "Third Ivan"]


async def test_a_poison_update_is_given_up_and_the_chat_goes_on(
    settings: Settings, api: FakeBotAPI
) -> None:
    app = await start_app(settings, api, ManualClock(START))
    await stop_app(app)
    # Update 30 was under way at each of the last crashes; 31 waited behind it.
    seed_pending(
        settings.database,
        [
            (call_update(30, "/call Poison Pill"), MAX_ATTEMPTS - 1),
            (call_update(31, "/call Next"), 0),
        ],
    )
    async with polling(settings, api):
        await api.wait_for("sendMessage", 2)
        await api.wait_until(lambda: all(row[5] for row in inbox_rows(settings.database)))
    sent = [r.params["text"] for r in api.calls("sendMessage")]
    assert sent[0] == ERROR_EN  # the rep hears that it failed
    assert "Next" in sent[1] and not with_text(api.calls("sendMessage"), "Poison")
    rows = {row[0]: row for row in inbox_rows(settings.database)}
    assert rows[30][4:] == (MAX_ATTEMPTS, 1, "given_up")
    assert rows[31][4:] == (0, 1, "ok")  # only the head of the chat's line counts an attempt
    assert count(settings.database, "SELECT count(*) FROM calls") == 1


async def test_a_reply_lost_to_the_network_is_retried_not_doubled(bot: BotHarness) -> None:
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway")
    sent = await bot.send("/call Anna Petrova")
    assert [(r.method, r.status) for r in sent] == [("sendMessage", 502), ("sendMessage", 200)]
    assert texts(sent)[0] == texts(sent)[1]  # the same reply, not an error message
    assert count(bot.db_path, "SELECT count(*) FROM calls") == 1
    assert inbox_rows(bot.db_path)[0][6] == "ok"


async def test_a_reply_that_keeps_failing_is_given_up_with_the_friendly_error(
    bot: BotHarness,
) -> None:
    started = bot.clock.now()
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway", times=MAX_ATTEMPTS)
    sent = await bot.send("/call Anna Petrova")
    assert [r.status for r in sent] == [502] * MAX_ATTEMPTS + [200]
    assert texts(sent)[-1] == ERROR_EN
    assert bot.clock.now() > started  # the pauses went by on the clock, not in real time
    assert count(bot.db_path, "SELECT count(*) FROM calls") == 1
    assert inbox_rows(bot.db_path)[0][6] == "given_up"


async def test_flood_control_waits_as_long_as_telegram_asks(bot: BotHarness) -> None:
    started = bot.clock.now()
    bot.api.fail_next("sendMessage", status=429, description="Too Many Requests", retry_after=7)
    sent = await bot.send("/call Anna Petrova")
    assert [r.status for r in sent] == [429, 200]
    assert bot.clock.now() - started >= timedelta(seconds=7)
    assert count(bot.db_path, "SELECT count(*) FROM calls") == 1


async def test_handled_updates_are_pruned_after_a_day(bot: BotHarness) -> None:
    await bot.send("/call Anna Petrova")
    seed_pending(bot.db_path, [(call_update(900, "/call Later"), 0)])  # still pending
    scheduler = bot.app.bot_data["services"].scheduler
    bot.clock.advance(timedelta(hours=25))
    await scheduler.tick(bot.app.bot)
    assert [row[0] for row in inbox_rows(bot.db_path)] == [900]


async def replay_on(
    copy: Path,
    settings: Settings,
    method: str,
    prepare: Callable[[FakeBotAPI], None] = lambda api: None,
) -> list[RecordedRequest]:
    """Start on the copy (a new process after the crash); the requests it makes."""
    restarted = settings.model_copy(update={"database": copy})
    async with FakeBotAPI() as api:
        prepare(api)
        async with polling(restarted, api):
            await api.wait_for(method)
            await api.wait_until(lambda: all(row[5] for row in inbox_rows(copy)), timeout=5)
        return list(api.requests)


async def test_crash_after_an_undo_shows_removed_once(
    settings: Settings, tmp_path: Path, api: FakeBotAPI
) -> None:
    async with polling(settings, api):
        api.push_update(call_update(700, "/call Anna Petrova"))
        api.push_update(call_update(701, "/undo"))
        prompt = (await api.wait_for("sendMessage", 2))[1]
    (data,) = [d for _, d in buttons(prompt) if d.startswith("u:c:")]
    press = button_update(702, data, prompt.message_id)
    copy, _ = await snapshot_while_held(settings, tmp_path, "editMessageText", [press])
    assert count(copy, "SELECT count(*) FROM calls") == 0  # removed before the edit

    after = await replay_on(copy, settings, "editMessageText")
    edits = [r.params["text"] for r in after if r.method == "editMessageText"]
    assert edits == ["🗑 Removed."]  # not "already gone"
    assert count(copy, "SELECT count(*) FROM calls") == 0


async def test_crash_after_an_import_reports_it_once_and_imports_once(
    settings: Settings, tmp_path: Path
) -> None:
    upload = {
        "update_id": 800,
        "message": message_json(None, IVAN, date=START, document=DOCUMENT),
    }
    copy, before = await snapshot_while_held(
        settings, tmp_path, "sendMessage", [upload], prepare=serve_file
    )
    (report,) = [r.params["text"] for r in before if r.method == "sendMessage"]
    assert count(copy, "SELECT count(*) FROM contacts") == 2  # committed before the report

    after = await replay_on(copy, settings, "sendMessage", prepare=serve_file)
    assert [r.params["text"] for r in after if r.method == "sendMessage"] == [report]
    assert count(copy, "SELECT count(*) FROM contacts") == 2  # not imported twice


async def test_crash_after_a_next_step_is_saved_from_its_flow_confirms_it_once(
    settings: Settings, tmp_path: Path, api: FakeBotAPI
) -> None:
    async with polling(settings, api):
        api.push_update(call_update(1000, "/nextstep Anna Petrova; tomorrow 15:00"))
        (question,) = await api.wait_for("sendMessage")
    assert "what" in question.params["text"].lower()  # the flow asks for the action
    answer = {"update_id": 1001, "message": message_json("demo at their office", IVAN, date=START)}
    copy, _ = await snapshot_while_held(settings, tmp_path, "sendMessage", [answer])
    assert count(copy, "SELECT count(*) FROM next_steps") == 1
    assert count(copy, "SELECT count(*) FROM flows") == 0  # the save closed the flow

    after = await replay_on(copy, settings, "sendMessage")
    (confirmation,) = [r.params["text"] for r in after if r.method == "sendMessage"]
    assert "The ball came back" in confirmation and "Demo at their office" in confirmation
    assert "already" not in confirmation  # the reply the first run would have sent
    assert count(copy, "SELECT count(*) FROM next_steps") == 1
    assert count(copy, "SELECT balls FROM day_counts") == 1


async def test_check_tells_how_many_updates_wait(settings: Settings, api: FakeBotAPI) -> None:
    app = await start_app(settings, api, ManualClock(START))
    await stop_app(app)
    seed_pending(settings.database, [(call_update(40, "/call Anna"), 0)])
    out: list[str] = []
    assert await ops.check(settings, offline=True, out=out.append) == 0
    assert "1 update(s) waiting in the inbox" in out[1]


def test_stored_ids_agree_with_telegrams_effective_chat_and_user() -> None:
    """The ids stored from the raw JSON are the ones python-telegram-bot's parsed update
    gives: the chat's order in a replay is the order the processor keeps."""
    from telegram import Bot, Update

    from bot.inbox import Inbox

    group = {"id": -100, "type": "supergroup", "title": "Sales"}
    samples: list[dict[str, Any]] = [
        call_update(1, "/call Anna"),
        {"update_id": 2, "edited_message": message_json("x", OLGA, date=START, edit_date=1)},
        button_update(3, "o:1:na", 7),
        {
            "update_id": 4,
            "callback_query": {
                "id": "q",
                "from": IVAN.as_dict(),
                "chat_instance": "1",
                "inline_message_id": "im",
                "data": "x",
            },
        },
        {
            "update_id": 5,
            "my_chat_member": {
                "chat": group,
                "from": IVAN.as_dict(),
                "date": 1,
                "old_chat_member": {
                    "status": "left",
                    "user": {"id": 1000, "is_bot": True, "first_name": "B"},
                },
                "new_chat_member": {
                    "status": "member",
                    "user": {"id": 1000, "is_bot": True, "first_name": "B"},
                },
            },
        },
        {
            "update_id": 6,
            "poll_answer": {
                "poll_id": "p",
                "user": OLGA.as_dict(),
                "option_ids": [0],
                "option_persistent_ids": ["a"],
            },
        },
    ]
    inbox = Inbox(store=None, clock=ManualClock(START))  # type: ignore[arg-type]
    inbox.arrived(samples)
    bot = Bot("123:abc")
    for sample in samples:
        update = Update.de_json(sample, bot)
        chat, user = update.effective_chat, update.effective_user
        stored = inbox._batch[sample["update_id"]]
        assert (stored.chat_id, stored.user_id) == (
            chat.id if chat else None,
            user.id if user else None,
        ), sample
        assert json.loads(stored.payload) == sample


async def test_an_update_is_stored_in_the_same_commit_as_its_first_write(
    settings: Settings, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox costs no commit of its own on the hot path: an update's arrival (and the
    previous update's "done") go with the update's own first unit of work."""
    monkeypatch.setattr(db_module, "RIDE_WINDOW", 60.0)  # nothing goes alone during the test
    async with polling(settings, api) as app:
        db = app.bot_data["services"].db
        api.push_update(call_update(50, "/call Anna Petrova"))
        await api.wait_for("sendMessage")
        await db.flush()
        commits = db._commits
        api.push_update(call_update(51, "/call Boris Ivanov"))
        await api.wait_for("sendMessage", 2)
        assert db._commits == commits + 1  # arrival, 50 done, and the call: one commit
        assert [row[5] for row in inbox_rows(settings.database)] == [1, 0]  # 51's "done" waits
        await db.flush()
    assert [row[5] for row in inbox_rows(settings.database)] == [1, 1]
