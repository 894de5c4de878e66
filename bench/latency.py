"""Latency and throughput: Ballback against the empty bots of the frameworks people pick instead.

    python -m bench.latency                       # all bots, N = 1, 50, 500
    python -m bench.latency --bots ballback --reps 50 --samples 400

For every bot (Ballback via ``python -m bot run``; the empty python-telegram-bot and aiogram bots
of :mod:`bench.bots`) and every N, a fresh bot process long-polls a fresh fake Bot API on
127.0.0.1, and N reps each send ``/call <name>`` and then press the "No answer" button under the
reply. Two measurements:

* **latency**: one update at a time (the reps take turns); from just before the update is made
  available to ``getUpdates`` to the arrival of the bot's ``sendMessage`` (reply), or of the
  later of its ``answerCallbackQuery`` and ``editMessageText`` (button) at the fake server.
  p50 and p99.
* **burst**: all N reps send ``/call`` at once, then all N press their button at once;
  updates per second = 2N / (time until the last answer arrived).

Also reported: the bot process's CPU time per update and its peak RSS. Ballback runs as in
production: real SQLite in a temporary directory, its own HTTP transport, default settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    SOURCES,
    BotProcess,
    Tracker,
    button_data,
    button_update,
    chat_of,
    command_update,
    machine,
    percentile,
    track,
)
from bench.leanapi import LeanAPI, LeanEvent
from tests.fakeapi import FakeBotAPI

BOTS = ("ptb", "aiogram", "ptb-aiohttp", "ballback")
LABELS = {
    "ptb": "python-telegram-bot, empty, default httpx transport",
    "ptb-aiohttp": "python-telegram-bot, empty, Ballback's aiohttp transport",
    "aiogram": "aiogram, empty",
    "ballback": "Ballback (storage, logic, rendering)",
    "baseline": "Ballback, baseline checkout (--baseline)",
}
WARMUP = 30
# How the contacts in the /call texts are named: "numbered" (as always: "Client 50-3-12"; at
# 6+ digits, e.g. any name at N=500 or a long burst label, Ballback runs its phone matcher,
# ~0.05 ms), "letters" (the same numbers spelled in letters: no digit at all, the matcher is
# skipped) or "phone" (a name and a distinct valid mobile number: the matcher finds it).
NAME_STYLES = ("numbered", "letters", "phone")
name_style = "numbered"
_serial = iter(range(10**9))


def contact(prefix: str, *numbers: int | str) -> str:
    """A contact's name for a /call text, in the chosen :data:`name_style`."""
    if name_style == "numbered":
        return " ".join([prefix, *map(str, numbers)])
    words = [_letters(str(n)) for n in numbers]
    if name_style == "letters":
        return " ".join([prefix, *words])
    serial = next(_serial)
    phone = f"+7 912 {serial // 10000 % 1000:03d}-{serial // 100 % 100:02d}-{serial % 100:02d}"
    return " ".join([prefix, *words, phone])


def _letters(text: str) -> str:
    return "".join(chr(ord("a") + int(d)) if d.isdigit() else d for d in text)


DEADLINE = 30.0  # seconds to wait for any one answer before the run is declared broken


@dataclass
class Result:
    bot: str
    reps: int
    reply: list[float] = field(default_factory=list)
    button: list[float] = field(default_factory=list)
    sequential_seconds: float = 0.0
    burst_updates: int = 0
    burst_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cpu_updates: int = 0
    peak_rss_mib: float = 0.0
    server_cpu_seconds: float = 0.0  # the lean fake server's, same updates (0: in-process one)
    bursts: list[float] = field(default_factory=list)  # updates/s of each burst

    def summary(self) -> dict[str, float | int | str]:
        count = len(self.reply) + len(self.button)
        return {
            "bot": self.bot,
            "reps": self.reps,
            "reply_p50_ms": percentile(self.reply, 50) * 1000,
            "reply_p99_ms": percentile(self.reply, 99) * 1000,
            "button_p50_ms": percentile(self.button, 50) * 1000,
            "button_p99_ms": percentile(self.button, 99) * 1000,
            "sequential_updates_per_s": count / self.sequential_seconds,
            "burst_updates_per_s": self.burst_updates / self.burst_seconds,
            "cpu_ms_per_update": self.cpu_seconds / max(1, self.cpu_updates) * 1000,
            "peak_rss_mib": self.peak_rss_mib,
            "server_cpu_ms_per_update": self.server_cpu_seconds / max(1, self.cpu_updates) * 1000,
        }


class Feed:
    """How the bench reaches one bot's fake Bot API, whichever it is.

    ``push`` makes updates available to ``getUpdates`` and returns when that happened;
    ``expect`` is the next request of a method for a chat (or callback query). With the
    in-process :class:`~tests.fakeapi.FakeBotAPI` times are this process's; with the lean server
    of :mod:`bench.leanapi` (its own process) they are the server's, on the same clock.
    """

    def __init__(self, api: FakeBotAPI | LeanAPI, tracker: Tracker | None) -> None:
        self.api = api
        self.tracker = tracker

    async def push(self, updates: list[dict[str, Any]]) -> float:
        if isinstance(self.api, LeanAPI):
            return await self.api.push(updates)
        started = time.monotonic()
        for update in updates:
            self.api.push_update(update)
        return started

    def expect(self, method: str, key: int | str) -> asyncio.Future[Any]:
        if isinstance(self.api, LeanAPI):
            return self.api.expect(method, key)
        assert self.tracker is not None
        return self.tracker.expect(method, key)

    def server_cpu(self) -> float:
        return self.api.cpu_seconds() if isinstance(self.api, LeanAPI) else 0.0


def no_answer(reply: Any) -> str:
    """The "No answer" button's callback data under a reply."""
    if isinstance(reply, LeanEvent):
        assert reply.na is not None, "no 'No answer' button in the reply"
        return reply.na
    return button_data(reply, ":na")


async def round_trip(feed: Feed, rep: int, name: str) -> tuple[float, float]:
    """``/call name`` then "No answer": (reply latency, button latency) in seconds."""
    chat = chat_of(rep)
    replied = feed.expect("sendMessage", chat)
    started = await feed.push([command_update(rep, f"/call {name}")])
    reply = await asyncio.wait_for(replied, DEADLINE)
    reply_latency = reply.t - started
    update = button_update(rep, no_answer(reply), reply.message_id)
    answered = feed.expect("answerCallbackQuery", update["callback_query"]["id"])
    edited = feed.expect("editMessageText", chat)
    started = await feed.push([update])
    both = await asyncio.wait_for(asyncio.gather(answered, edited), DEADLINE)
    return reply_latency, max(r.t for r in both) - started


async def burst(
    feed: Feed, reps: int, label: str, per_rep: int = 1, grouped: bool = False
) -> tuple[int, float]:
    """All reps at once. One ``/call`` per rep: the calls, then every button. ``per_rep`` > 1:
    that many ``/call``s per rep, all available at once, no buttons: one round of all reps
    after the other, or (``grouped``) each rep's calls next to each other. Returns
    (updates, seconds)."""
    if per_rep > 1:
        order = (
            [(k, rep) for rep in range(reps) for k in range(per_rep)]
            if grouped
            else [(k, rep) for k in range(per_rep) for rep in range(reps)]
        )
        replied = [feed.expect("sendMessage", chat_of(rep)) for _, rep in order]
        started = await feed.push(
            [
                command_update(rep, f"/call {contact('Burst', label, f'{rep}-{k}')}")
                for k, rep in order
            ]
        )
        replies = await asyncio.wait_for(asyncio.gather(*replied), DEADLINE)
        return len(order), max(r.t for r in replies) - started
    replied = [feed.expect("sendMessage", chat_of(rep)) for rep in range(reps)]
    started = await feed.push(
        [command_update(rep, f"/call {contact('Burst', label, rep)}") for rep in range(reps)]
    )
    replies = await asyncio.wait_for(asyncio.gather(*replied), DEADLINE)
    first_half = max(r.t for r in replies) - started
    updates = [
        button_update(rep, no_answer(reply), reply.message_id) for rep, reply in enumerate(replies)
    ]
    done = [feed.expect("editMessageText", chat_of(rep)) for rep in range(reps)] + [
        feed.expect("answerCallbackQuery", update["callback_query"]["id"]) for update in updates
    ]
    started = await feed.push(updates)
    answers = await asyncio.wait_for(asyncio.gather(*done), DEADLINE)
    return 2 * reps, first_half + max(r.t for r in answers) - started


@dataclass
class Subject:
    """One bot under test: its own fake Bot API and its own process.

    ``name`` is how the bot was asked for: a kind (``ballback``, ``aiogram``, ...), optionally
    with environment settings for its process, ``ballback+BALLBACK_CONCURRENT_UPDATES=64``.
    """

    name: str
    feed: Feed
    process: BotProcess


def parse_bot(name: str) -> tuple[str, dict[str, str]]:
    kind, *settings = name.split("+")
    env = dict(setting.split("=", 1) for setting in settings)
    return kind, env


async def start_subjects(
    names: list[str], stack: AsyncExitStack, profile: Path | None, lean: LeanSettings | None
) -> list[Subject]:
    subjects = []
    for name in names:
        kind, env = parse_bot(name)
        api: FakeBotAPI | LeanAPI
        tracker = None
        if lean is None:
            api = await stack.enter_async_context(FakeBotAPI())
            tracker = track(api)
        else:
            api = await stack.enter_async_context(LeanAPI(lean.delay_ms, lean.echo))
        safe = name.replace("+", "_").replace("=", "-")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-{safe}-")))
        where = None if profile is None else profile.with_name(f"{profile.stem}-{safe}.prof")
        process = BotProcess(kind, api, workdir, where, **env)
        await process.start()
        stack.push_async_callback(stop, process)
        subjects.append(Subject(name, Feed(api, tracker), process))
    return subjects


async def stop(process: BotProcess) -> None:
    code = await process.stop()
    if code != 0:
        raise RuntimeError(f"{process.kind} exited with {code}")


@dataclass(frozen=True)
class LeanSettings:
    """The lean fake Bot API of :mod:`bench.leanapi` instead of the in-process aiohttp one."""

    delay_ms: float = 0.0
    echo: bool = False


async def measure(
    kinds: list[str],
    reps_list: list[int],
    samples: int,
    bursts: int,
    profile: Path | None = None,
    lean: LeanSettings | None = None,
    burst_per_rep: int = 1,
    grouped: bool = False,
) -> list[Result]:
    """Every bot runs at the same time; their round trips and bursts take turns.

    The machine's load drifts (other processes come and go), so the bots are not measured
    one after another: each sample of each bot is taken right next to the same sample of the
    others, in a rotating order, and all see the same conditions.
    """
    results: list[Result] = []
    async with AsyncExitStack() as stack:
        subjects = await start_subjects(kinds, stack, profile, lean)
        for subject in subjects:
            for i in range(WARMUP):
                await round_trip(subject.feed, 10_000 + i % 3, contact("Warm-up", i))
            await burst(subject.feed, 50, "warm-up")
        for reps in reps_list:
            phase = {s.name: Result(s.name, reps) for s in subjects}
            rounds = math.ceil(samples / reps)
            turn = 0
            for r in range(rounds):
                for rep in range(reps):
                    turn += 1
                    for subject in (
                        subjects[turn % len(subjects) :] + subjects[: turn % len(subjects)]
                    ):
                        result = phase[subject.name]
                        cpu, started = subject.process.cpu_seconds(), time.monotonic()
                        server = subject.feed.server_cpu()
                        reply, button = await round_trip(
                            subject.feed, rep, contact("Client", f"{reps}-{r}-{rep}")
                        )
                        result.sequential_seconds += time.monotonic() - started
                        result.cpu_seconds += subject.process.cpu_seconds() - cpu
                        result.server_cpu_seconds += subject.feed.server_cpu() - server
                        result.cpu_updates += 2
                        result.reply.append(reply)
                        result.button.append(button)
            count = bursts or max(2, math.ceil(1000 / (reps * burst_per_rep)))
            for b in range(count):
                for subject in subjects[b % len(subjects) :] + subjects[: b % len(subjects)]:
                    result = phase[subject.name]
                    cpu = subject.process.cpu_seconds()
                    server = subject.feed.server_cpu()
                    updates, seconds = await burst(
                        subject.feed, reps, f"{reps} {b}", burst_per_rep, grouped
                    )
                    result.cpu_seconds += subject.process.cpu_seconds() - cpu
                    result.server_cpu_seconds += subject.feed.server_cpu() - server
                    result.cpu_updates += updates
                    result.burst_updates += updates
                    result.burst_seconds += seconds
                    result.bursts.append(updates / seconds)
            for subject in subjects:
                phase[subject.name].peak_rss_mib = subject.process.peak_rss_mib()
            results.extend(phase.values())
            for result in phase.values():
                report(result)
    return results


def report(result: Result) -> None:
    s = result.summary()
    print(
        f"{result.bot:11} N={result.reps:<4} reply p50 {s['reply_p50_ms']:.2f} ms "
        f"p99 {s['reply_p99_ms']:.2f} ms | button p50 {s['button_p50_ms']:.2f} ms "
        f"p99 {s['button_p99_ms']:.2f} ms | {s['sequential_updates_per_s']:.0f}/s one at a time, "
        f"burst {s['burst_updates_per_s']:.0f}/s | CPU {s['cpu_ms_per_update']:.2f} ms/update "
        f"(server {s['server_cpu_ms_per_update']:.2f}) | "
        f"RSS {s['peak_rss_mib']:.0f} MiB",
        flush=True,
    )


def table(results: list[Result]) -> str:
    head = (
        "| bot | N reps | reply p50 | reply p99 | button p50 | button p99 | "
        "updates/s one at a time | burst updates/s | CPU per update | fake server CPU "
        "per update | peak RSS |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in results:
        s = r.summary()
        lines.append(
            f"| {label(r.bot)} | {r.reps} | {s['reply_p50_ms']:.2f} ms | "
            f"{s['reply_p99_ms']:.2f} ms | {s['button_p50_ms']:.2f} ms | "
            f"{s['button_p99_ms']:.2f} ms | {s['sequential_updates_per_s']:.0f} | "
            f"{s['burst_updates_per_s']:.0f} | {s['cpu_ms_per_update']:.2f} ms | "
            f"{s['server_cpu_ms_per_update']:.2f} ms | {s['peak_rss_mib']:.0f} MiB |"
        )
    return "\n".join(lines)


def label(name: str) -> str:
    kind, env = parse_bot(name)
    settings = ", ".join(f"{k}={v}" for k, v in env.items())
    return LABELS.get(kind, kind) + (f" ({settings})" if settings else "")


def ratios(results: list[Result]) -> str:
    """Ballback (each variant) against each empty bot, same N: below 1.00 means Ballback is
    faster, except for burst throughput and the reply p99 (spelled out)."""
    by_key = {(r.bot, r.reps): r.summary() for r in results}
    lines = []
    for (bot, reps), s in sorted(by_key.items(), key=lambda item: item[0][1]):
        if parse_bot(bot)[0] not in ("ballback", "baseline"):
            continue
        for floor in ("aiogram", "ptb"):
            f = by_key.get((floor, reps))
            if f is None:
                continue
            lines.append(
                f"N={reps}: {bot} / {floor}: reply p50 "
                f"{s['reply_p50_ms'] / f['reply_p50_ms']:.2f}x, button p50 "
                f"{s['button_p50_ms'] / f['button_p50_ms']:.2f}x, burst throughput "
                f"{s['burst_updates_per_s'] / f['burst_updates_per_s']:.2f}x (above 1 = more), "
                f"reply p99 {s['reply_p99_ms'] / f['reply_p99_ms']:.2f}x, CPU per update "
                f"{s['cpu_ms_per_update'] / f['cpu_ms_per_update']:.2f}x"
            )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bots", default=",".join(BOTS))
    parser.add_argument("--reps", default="1,50,500")
    parser.add_argument("--samples", type=int, default=300, help="round trips per N, at least")
    parser.add_argument("--bursts", type=int, default=0, help="bursts per N (default: 1000/N)")
    parser.add_argument("--json", type=Path, help="also write the raw summaries here")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of Ballback, run too as the bot 'baseline' (before/after)",
    )
    parser.add_argument(
        "--profile", type=Path, help="run each bot under cProfile, stats to PROFILE-bot.prof"
    )
    parser.add_argument(
        "--lean",
        action="store_true",
        help="the lean fake Bot API (bench/leanapi.py, its own process) instead of the "
        "in-process aiohttp one",
    )
    parser.add_argument(
        "--api-delay-ms", type=float, default=0.0, help="lean server: hold each answer this long"
    )
    parser.add_argument(
        "--echo", action="store_true", help="lean server: echo reply_markup, as Telegram does"
    )
    parser.add_argument(
        "--burst-per-rep",
        type=int,
        default=1,
        help="/calls per rep in a burst (above 1: calls only, no buttons)",
    )
    parser.add_argument(
        "--burst-order",
        choices=("rounds", "grouped"),
        default="rounds",
        help="with --burst-per-rep: all reps' 1st calls, then their 2nd, ... (rounds), or "
        "each rep's calls next to each other (grouped: 100-update batches of 10 chats)",
    )
    parser.add_argument(
        "--scenario",
        choices=("independent",),
        help="independent: the independent benchmark's set-up: lean server, aiogram and "
        "Ballback, 50 reps, 200 sequential rounds, bursts of 10 /calls per rep (500 updates)",
    )
    parser.add_argument(
        "--names",
        choices=NAME_STYLES,
        default="numbered",
        help="contact names in the /call texts (see NAME_STYLES in the code)",
    )
    args = parser.parse_args()
    global name_style
    name_style = args.names
    if args.scenario == "independent":
        args.lean = True
        if args.bots == ",".join(BOTS):
            args.bots = "aiogram,ballback"
        args.reps, args.samples = "50", 200
        args.burst_per_rep = 10
        args.bursts = args.bursts or 5
    print(f"machine: {machine()}")
    kinds = args.bots.split(",")
    if args.baseline is not None:
        SOURCES["baseline"] = args.baseline.resolve()
        kinds.append("baseline")
    results = await measure(
        kinds,
        [int(n) for n in args.reps.split(",")],
        args.samples,
        args.bursts,
        args.profile,
        LeanSettings(args.api_delay_ms, args.echo) if args.lean else None,
        args.burst_per_rep,
        args.burst_order == "grouped",
    )
    print()
    print(table(results))
    print()
    print(ratios(results))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) | {"summary": r.summary()} for r in results], indent=1)
        )


if __name__ == "__main__":
    asyncio.run(main())
