"""Where a bot process's CPU goes, by layer: ``python -m bench.breakdown PROFILE [UPDATES]``.

Reads a pstats file (``bench.latency --profile``; with ``BENCH_PROFILER=pyinstrument`` and a
``.prof`` name it is sampled, which distorts many small Python calls less than cProfile) and
adds up each function's *own* time by the layer its code belongs to. With ``UPDATES`` (how many
updates the run handled) it also prints milliseconds per update. Start-up and shutdown are
included: subtract the ``start-up (imports)`` row, or compare two runs of different lengths.
"""

from __future__ import annotations

import pstats
import sys
from collections import defaultdict

# (layer, substrings of the file path or builtin's name), first match wins
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "start-up (imports)",
        (
            "<frozen importlib",
            "marshal",
            "builtins.exec",
            "_imp.",
            "__build_class__",
            "SSLContext",
            "dataclasses.py",
            " compile",
            "SchemaValidator",
        ),
    ),
    ("SQLite (C)", ("sqlite3", "Connection.execute", "Connection.commit", "Cursor.")),
    ("storage/ (Python)", ("/storage/", "aiosqlite")),
    ("phone matcher", ("phonenumbers",)),
    ("handlers, domain, locales", ("/handlers/", "/bot/domain/", "/bot/locales/")),
    ("inbox, per-chat order", ("/bot/inbox.py", "/bot/updates.py")),
    ("transport (bot/transport.py)", ("/bot/transport.py",)),
    ("aiohttp, yarl, multidict", ("aiohttp", "yarl", "multidict", "propcache")),
    ("JSON", ("/json/", "orjson", "<built-in> loads", "<built-in> dumps")),
    (
        "PTB: parsing and objects",
        (
            "telegram/_telegramobject",
            "telegram/_utils",
            "telegram/_update",
            "telegram/_message",
            "telegram/_user",
            "telegram/_chat",
            "telegram/_callbackquery",
            "telegram/_inline",
            "telegram/_messageentity",
            "telegram/_linkpreview",
            "telegram/_files",
        ),
    ),
    ("PTB: Bot, requests", ("telegram/_bot", "telegram/ext/_extbot", "telegram/request")),
    ("PTB: application, handlers", ("telegram/ext", "telegram/")),
    ("aiogram, pydantic (Ballback: storage models)", ("aiogram", "pydantic", "magic_filter")),
    (
        "event loop, asyncio",
        ("asyncio", "selectors", "epoll", "_contextvars", "socket", "Context.run"),
    ),
    ("garbage collector", ("gc.collect", "<built-in> collect")),
    ("logging", ("logging",)),
    ("apscheduler, rhythm", ("apscheduler", "/bot/scheduler", "/bot/rhythm")),
)


def layer(filename: str, function: str) -> str:
    where = f"{filename} {function}" + (" sqlite3" if "sqlite3.Connection" in function else "")
    for name, needles in LAYERS:
        if any(n in where for n in needles):
            return name
    return "other"


def main() -> None:
    stats = pstats.Stats(sys.argv[1])
    updates = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    totals: dict[str, float] = defaultdict(float)
    top: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (filename, line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        name = layer(filename, function)
        totals[name] += own
        top[name].append((own, f"{filename.rsplit('/', 2)[-1]}:{line} {function}"))
    everything = sum(totals.values())
    print(f"total {everything:.2f} s" + (f", {updates} updates" if updates else ""))
    print("| layer | own time | share | ms per update | biggest |")
    print("|---|---:|---:|---:|---|")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        per = f"{seconds / updates * 1000:.3f}" if updates else ""
        biggest = ", ".join(f"{what} {t:.2f}s" for t, what in sorted(top[name])[-2:][::-1])
        print(f"| {name} | {seconds:.2f} s | {seconds / everything:.0%} | {per} | {biggest} |")


if __name__ == "__main__":
    main()
