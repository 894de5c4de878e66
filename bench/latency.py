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
        }


async def round_trip(api: FakeBotAPI, tracker: Tracker, rep: int, name: str) -> tuple[float, float]:
    """``/call name`` then "No answer": (reply latency, button latency) in seconds."""
    chat = chat_of(rep)
    replied = tracker.expect("sendMessage", chat)
    started = time.monotonic()
    api.push_update(command_update(rep, f"/call {name}"))
    reply = await asyncio.wait_for(replied, DEADLINE)
    reply_latency = reply.t - started
    update = button_update(rep, button_data(reply, ":na"), reply.message_id)
    answered = tracker.expect("answerCallbackQuery", update["callback_query"]["id"])
    edited = tracker.expect("editMessageText", chat)
    started = time.monotonic()
    api.push_update(update)
    both = await asyncio.wait_for(asyncio.gather(answered, edited), DEADLINE)
    return reply_latency, max(r.t for r in both) - started


async def burst(api: FakeBotAPI, tracker: Tracker, reps: int, label: str) -> tuple[int, float]:
    """All reps at once: ``/call``, then every button. Returns (updates, seconds)."""
    replied = [tracker.expect("sendMessage", chat_of(rep)) for rep in range(reps)]
    started = time.monotonic()
    for rep in range(reps):
        api.push_update(command_update(rep, f"/call Burst {label} {rep}"))
    replies = await asyncio.wait_for(asyncio.gather(*replied), DEADLINE)
    first_half = max(r.t for r in replies) - started
    updates = [
        button_update(rep, button_data(reply, ":na"), reply.message_id)
        for rep, reply in enumerate(replies)
    ]
    done = [tracker.expect("editMessageText", chat_of(rep)) for rep in range(reps)] + [
        tracker.expect("answerCallbackQuery", update["callback_query"]["id"]) for update in updates
    ]
    started = time.monotonic()
    for update in updates:
        api.push_update(update)
    answers = await asyncio.wait_for(asyncio.gather(*done), DEADLINE)
    return 2 * reps, first_half + max(r.t for r in answers) - started


@dataclass
class Subject:
    """One bot under test: its own fake Bot API and its own process."""

    kind: str
    api: FakeBotAPI
    tracker: Tracker
    process: BotProcess


async def start_subjects(
    kinds: list[str], stack: AsyncExitStack, profile: Path | None
) -> list[Subject]:
    subjects = []
    for kind in kinds:
        api = await stack.enter_async_context(FakeBotAPI())
        tracker = track(api)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-{kind}-")))
        where = None if profile is None else profile.with_name(f"{profile.stem}-{kind}.prof")
        process = BotProcess(kind, api, workdir, where)
        await process.start()
        stack.push_async_callback(stop, process)
        subjects.append(Subject(kind, api, tracker, process))
    return subjects


async def stop(process: BotProcess) -> None:
    code = await process.stop()
    if code != 0:
        raise RuntimeError(f"{process.kind} exited with {code}")


async def measure(
    kinds: list[str],
    reps_list: list[int],
    samples: int,
    bursts: int,
    profile: Path | None = None,
) -> list[Result]:
    """Every bot runs at the same time; their round trips and bursts take turns.

    The machine's load drifts (other processes come and go), so the bots are not measured
    one after another: each sample of each bot is taken right next to the same sample of the
    others, in a rotating order, and all see the same conditions.
    """
    results: list[Result] = []
    async with AsyncExitStack() as stack:
        subjects = await start_subjects(kinds, stack, profile)
        for subject in subjects:
            for i in range(WARMUP):
                await round_trip(subject.api, subject.tracker, 10_000 + i % 3, f"Warm-up {i}")
            await burst(subject.api, subject.tracker, 50, "warm-up")
        for reps in reps_list:
            phase = {s.kind: Result(s.kind, reps) for s in subjects}
            rounds = math.ceil(samples / reps)
            turn = 0
            for r in range(rounds):
                for rep in range(reps):
                    turn += 1
                    for subject in (
                        subjects[turn % len(subjects) :] + subjects[: turn % len(subjects)]
                    ):
                        result = phase[subject.kind]
                        cpu, started = subject.process.cpu_seconds(), time.monotonic()
                        reply, button = await round_trip(
                            subject.api, subject.tracker, rep, f"Client {reps}-{r}-{rep}"
                        )
                        result.sequential_seconds += time.monotonic() - started
                        result.cpu_seconds += subject.process.cpu_seconds() - cpu
                        result.cpu_updates += 2
                        result.reply.append(reply)
                        result.button.append(button)
            count = bursts or max(2, math.ceil(1000 / reps))
            for b in range(count):
                for subject in subjects[b % len(subjects) :] + subjects[: b % len(subjects)]:
                    result = phase[subject.kind]
                    cpu = subject.process.cpu_seconds()
                    updates, seconds = await burst(
                        subject.api, subject.tracker, reps, f"{reps} {b}"
                    )
                    result.cpu_seconds += subject.process.cpu_seconds() - cpu
                    result.cpu_updates += updates
                    result.burst_updates += updates
                    result.burst_seconds += seconds
            for subject in subjects:
                phase[subject.kind].peak_rss_mib = subject.process.peak_rss_mib()
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
        f"burst {s['burst_updates_per_s']:.0f}/s | CPU {s['cpu_ms_per_update']:.2f} ms/update | "
        f"RSS {s['peak_rss_mib']:.0f} MiB",
        flush=True,
    )


def table(results: list[Result]) -> str:
    head = (
        "| bot | N reps | reply p50 | reply p99 | button p50 | button p99 | "
        "updates/s one at a time | burst updates/s | CPU per update | peak RSS |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in results:
        s = r.summary()
        lines.append(
            f"| {LABELS[r.bot]} | {r.reps} | {s['reply_p50_ms']:.2f} ms | "
            f"{s['reply_p99_ms']:.2f} ms | {s['button_p50_ms']:.2f} ms | "
            f"{s['button_p99_ms']:.2f} ms | {s['sequential_updates_per_s']:.0f} | "
            f"{s['burst_updates_per_s']:.0f} | {s['cpu_ms_per_update']:.2f} ms | "
            f"{s['peak_rss_mib']:.0f} MiB |"
        )
    return "\n".join(lines)


def ratios(results: list[Result]) -> str:
    """Ballback against each empty bot, same N: below 1.00 means Ballback is faster/better."""
    by_key = {(r.bot, r.reps): r.summary() for r in results}
    lines = []
    for (bot, reps), s in sorted(by_key.items(), key=lambda item: item[0][1]):
        if bot != "ballback":
            continue
        for floor in ("aiogram", "ptb"):
            f = by_key.get((floor, reps))
            if f is None:
                continue
            lines.append(
                f"N={reps}: Ballback / {floor}: reply p50 "
                f"{s['reply_p50_ms'] / f['reply_p50_ms']:.2f}x, button p50 "
                f"{s['button_p50_ms'] / f['button_p50_ms']:.2f}x, burst throughput "
                f"{s['burst_updates_per_s'] / f['burst_updates_per_s']:.2f}x"
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
    args = parser.parse_args()
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
