"""The composition root: the one place that builds the application.

Production (``ballback run``), the tests and the benchmarks all call :func:`build_app`, so what is
tested is what runs. Resources are opened in ``post_init`` and closed in ``post_shutdown``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackContext, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.telegram_bot import BallbackBot
from storage.db import Database, lock_key
from storage.repo import Store

if TYPE_CHECKING:
    from bot.inbox import Inbox
    from bot.scheduler import Scheduler, Sleep

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a handler may use, built once."""

    settings: Settings
    db: Database
    store: Store
    clock: Clock
    extra: dict[str, Any] = field(default_factory=dict)
    scheduler: Scheduler | None = None  # the daily rhythm: reminders and summaries
    inbox: Inbox | None = None  # every update, stored until handled (bot/inbox.py)


class BallbackContext(CallbackContext[BallbackBot, dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The handlers' context, with typed access to :class:`Services`."""

    @property
    def services(self) -> Services:
        services: Services = self.bot_data["services"]
        return services


BallbackApp = Application[
    BallbackBot, BallbackContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    sleep: Sleep | None = None,
    poller: bool = False,
) -> BallbackApp:
    """``sleep`` is how the scheduler waits (rate limits, 429): by default the clock's own, so
    with a ManualClock the waits move it forward instead of taking real time.

    ``poller``: the application will long-poll. Telegram allows one ``getUpdates`` consumer per
    token, so with several instances on one database only one polls; the others wait as
    standbys (in ``post_init``) and the first to notice takes over when it stops or dies."""
    from bot.inbox import Inbox
    from bot.scheduler import TICK_SECONDS
    from bot.transport import AiohttpRequest
    from bot.updates import PerChatUpdateProcessor
    from handlers import register, set_commands
    from handlers.rhythm import build_scheduler

    db = Database(settings.database)
    services = Services(settings=settings, db=db, store=Store(db), clock=clock or SystemClock())
    # Waits (retry pauses) go by on the clock's own sleep: a ManualClock's takes no real time.
    wait = sleep or getattr(services.clock, "sleep", None) or asyncio.sleep
    inbox = services.inbox = Inbox(services.store.inbox, services.clock, wait)
    request = request or AiohttpRequest()
    if db.shared:  # several instances: one's flood-control pause holds for all (bot/flood.py)
        from bot.flood import FloodGate, FloodGateRequest

        request = FloodGateRequest(request, FloodGate(db, services.clock, wait))
    bot = BallbackBot(
        settings.token.get_secret_value(),
        base_url=settings.api_url,
        base_file_url=settings.file_url,
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            tzinfo=settings.zone,
        ),
        request=request,
        get_updates_request=inbox.request(get_updates_request or AiohttpRequest()),
    )
    builder = (
        Application.builder()
        .bot(bot)
        .context_types(ContextTypes(context=BallbackContext))
        .update_queue(inbox.queue)
        .concurrent_updates(PerChatUpdateProcessor(settings.concurrent_updates, inbox))
    )

    async def post_init(app: BallbackApp) -> None:
        await services.db.open()
        if poller and db.shared:
            await _stand_by(db)
        await inbox.replay(app)  # before the first new update can arrive
        await set_commands(app)

    async def post_shutdown(app: BallbackApp) -> None:
        if services.scheduler is not None:
            await services.scheduler.stop()  # sends in flight are marked before the close
        await services.db.close()

    app: BallbackApp = builder.post_init(post_init).post_shutdown(post_shutdown).build()
    inbox.app = app
    services.scheduler = scheduler = build_scheduler(services, sleep)
    app.bot_data["services"] = services
    register(app)
    # The daily rhythm: ONE repeating job; the schedule itself lives in the database.
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            scheduler.job,
            interval=TICK_SECONDS,
            first=1,
            name="rhythm",
            job_kwargs={"max_instances": 2, "coalesce": True},  # an overlap returns at once
        )
        if db.shared:  # several instances: take over the updates a dead one left waiting
            app.job_queue.run_repeating(
                _sweep, interval=SWEEP_SECONDS, first=SWEEP_SECONDS, name="inbox-sweep"
            )
    return app


SWEEP_SECONDS = 10
STANDBY_SECONDS = 2.0  # how often a standby asks whether the poller is gone


async def _stand_by(db: Database) -> None:
    """Return once this instance is the one that polls (a lock held in the database for as
    long as the instance lives)."""
    key = lock_key("poller")
    if await db.try_lock(key):
        return
    log.info("standby: another instance is polling; taking over when it stops")
    while not await db.try_lock(key):  # noqa: ASYNC110 (the lock lives in the database)
        await asyncio.sleep(STANDBY_SECONDS)
    log.info("the polling instance is gone: this one polls now")


async def _sweep(context: BallbackContext) -> None:
    inbox = context.services.inbox
    try:
        if inbox is not None:
            await inbox.sweep()
    except Exception:
        log.exception("looking for updates left waiting failed; the next sweep retries")
