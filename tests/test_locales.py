"""The message catalog: both languages complete and alike, every key the code uses exists,
Telegram's limits (4096 characters a message, 64 bytes of callback_data) kept."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.calendar import DayError
from bot.domain.contacts import ContactError
from bot.domain.nextstep import ACTION_PRESETS
from bot.domain.outcomes import Outcome, OutcomeGroup, verdict
from bot.domain.pipeline import Section
from bot.domain.rules import ActionError
from bot.domain.tables import TableError
from bot.domain.team import Key, SettingError
from bot.domain.transfer import FileProblem, Problem
from bot.domain.when import WhenError
from bot.locales import CATALOG, LANGS, plural, t
from bot.reports import Period
from handlers import GROUP_COMMANDS, PRIVATE_COMMANDS, TEAM_PRIVATE_COMMANDS
from tests.conftest import IVAN, OLGA, BotHarness, buttons

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    path
    for folder in ("bot", "handlers", "storage")
    for path in (ROOT / folder).rglob("*.py")
    if "locales" not in path.parts
)
EN, RU = CATALOG["en"], CATALOG["ru"]
NAMESPACES = {key.split(".")[0] for key in EN if "." in key}
DOTTED = re.compile(r"[a-z][a-z_]*(\.[a-z0-9_]+)+")
MESSAGE_LIMIT = 4096
CALLBACK_LIMIT = 64

# Keys built at run time: f"<prefix>{...}" -> every value the code can put there.
FAMILIES: dict[str, Callable[[], set[str]]] = {
    "cmd.": lambda: {*PRIVATE_COMMANDS, *TEAM_PRIVATE_COMMANDS},
    "gcmd.": lambda: set(GROUP_COMMANDS),
    "setting.": lambda: {k.value for k in Key},
    "settings.lang_": lambda: {"ru", "en", "auto"},
    "settings.source_": lambda: {"mine", "team", "default"},
    "set.": lambda: {e.value for e in SettingError} - {"not_a_number", "out_of_range"},  # set.range
    "board.": lambda: {p.value for p in Period},
    "pl.head.": lambda: {s.value for s in Section},
    "pl.empty.": lambda: {s.value for s in Section},
    "pl.tab.": lambda: {s.value for s in Section},
    "step.": lambda: {"open", "done", "dropped", "rescheduled"},
    "card.ask_": lambda: {"phone", "company"},
    "import.why.": lambda: {p.value for p in Problem},
    "import.": lambda: {e.value for e in (*TableError, *FileProblem)},
    "export.kind.": lambda: {"ball", "reminder"},
    "export.col.": lambda: {key.split(".")[-1] for key in EN if key.startswith("export.col.")},
    "outcome.": lambda: {o.value for o in Outcome},
    "group.": lambda: {g.value for g in OutcomeGroup},
    "group.hint.": lambda: {g.value for g in OutcomeGroup},
    "result.": lambda: {verdict(o).value for o in Outcome},
    "contact.": lambda: {e.value for e in ContactError},
    "when.": lambda: {e.value for e in WhenError},
    "ns.action.": lambda: set(ACTION_PRESETS),
    "ns.action_": lambda: {e.value.split("_")[1] for e in ActionError},
    "dates.": lambda: {e.value for e in DayError},
}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def source_nodes() -> Iterator[tuple[str, ast.AST]]:
    for path in SOURCES:
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            yield where, node


def called(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


# -- the catalog itself --------------------------------------------------------------------------


def test_both_languages_have_the_same_keys() -> None:
    assert sorted(set(EN) - set(RU)) == [], "missing in ru.py"
    assert sorted(set(RU) - set(EN)) == [], "missing in en.py"


@pytest.mark.parametrize("key", sorted(EN))
def test_the_same_placeholders_in_both_languages(key: str) -> None:
    assert placeholders(EN[key]) == placeholders(RU[key])


def test_no_template_is_over_telegram_s_limit() -> None:
    for lang in LANGS:
        for key, template in CATALOG[lang].items():
            assert 0 < len(template) <= MESSAGE_LIMIT, (lang, key)


def test_every_template_formats_and_escapes() -> None:
    for lang in LANGS:
        for key, template in CATALOG[lang].items():
            values = {name: "<Ivan & Co>" for name in placeholders(template)}
            text = t(lang, key, **values)
            assert "<Ivan & Co>" not in text, (lang, key)
            if values:
                assert "&lt;Ivan &amp; Co&gt;" in text, (lang, key)


def test_plural_forms() -> None:
    for key in (k for k in EN if k.startswith("plural.")):
        assert len(EN[key].split("|")) == 2 and len(RU[key].split("|")) == 3, key
    assert [plural("ru", "plural.calls", n) for n in (1, 2, 5, 11, 21)] == [
        "1 звонок",
        "2 звонка",
        "5 звонков",
        "11 звонков",
        "21 звонок",
    ]
    assert [plural("en", "plural.calls", n) for n in (1, 2)] == ["1 call", "2 calls"]


# -- the code's use of it ------------------------------------------------------------------------


def test_every_literal_key_the_code_uses_exists() -> None:
    missing: list[str] = []
    nodes = list(source_nodes())
    in_fstrings = {
        id(part) for _, node in nodes if isinstance(node, ast.JoinedStr) for part in node.values
    }
    for where, node in nodes:
        if id(node) in in_fstrings:
            continue  # the head of a built key: a family, checked below
        # t(lang, "key"), text_for(update, "key"), plural(lang, "key", n)
        if isinstance(node, ast.Call) and called(node) in {"t", "text_for", "plural"}:
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                key = node.args[1].value
                if isinstance(key, str) and key not in EN:
                    missing.append(f"{where}:{node.lineno} {key}")
        # "ns.action_short" in a table, a wrapper's argument, ...: any dotted catalog-like string
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if DOTTED.fullmatch(text) and text.split(".")[0] in NAMESPACES and text not in EN:
                missing.append(f"{where}:{node.lineno} {text}")
    assert missing == []


def test_every_key_family_the_code_builds_is_known_and_complete() -> None:
    built: set[str] = set()
    unknown: list[str] = []
    for where, node in source_nodes():
        if not isinstance(node, ast.JoinedStr) or not node.values:
            continue
        head = node.values[0]
        if not (isinstance(head, ast.Constant) and isinstance(head.value, str)):
            continue
        prefix = head.value
        if len(node.values) > 1 and "." in prefix and prefix.split(".")[0] in NAMESPACES:
            built.add(prefix)
            if prefix not in FAMILIES:
                unknown.append(f"{where}:{node.lineno} f{prefix!r}...")
    assert unknown == [], "add these families to FAMILIES"
    assert {"cmd.", "outcome."} <= built  # the scan sees the code
    for prefix, values in FAMILIES.items():
        for value in values():
            assert f"{prefix}{value}" in EN, f"{prefix}{value}"


# -- buttons -------------------------------------------------------------------------------------


async def test_every_button_the_bot_shows_fits_in_64_bytes(bot: BotHarness) -> None:
    """Drive the screens with buttons, with long names and large ids, and check every button."""
    long_name = "Константин Константинопольский-Старший"
    for person in (IVAN, OLGA):
        await bot.send(f"/call {long_name}, ООО Ромашка +7 912 345-67-89", person)
        await bot.send("/call", person)  # the recent-contacts picker
        await bot.send("/nextstep", person)  # its picker
        await bot.send(f"/nextstep {long_name}", person)  # day buttons
        await bot.send("tomorrow", person)  # time buttons
        await bot.send("15:00", person)  # action buttons
        await bot.send("in 60 days 10:00", person)
        await bot.send("/cancel", person)
        await bot.send("/undo", person)
    bot.clock.advance(timedelta(days=400))
    await bot.send(f"/call {long_name}", IVAN)
    shown = [data for request in bot.api.requests for _, data in buttons(request)]
    assert len(shown) > 40
    for data in shown:
        assert data.isascii() and 0 < len(data.encode()) <= CALLBACK_LIMIT, data
    for request in bot.api.requests:
        if "text" in request.params:
            assert len(request.params["text"]) <= MESSAGE_LIMIT


def test_callback_data_with_the_largest_ids_fits() -> None:
    from handlers.common import button

    biggest = 2**63 - 1  # SQLite's largest rowid
    for data in (
        f"o:{biggest}:na",
        f"u:k:c:{biggest}",
        f"u:s:{biggest}",
        f"p:{biggest}",
        f"s:{biggest}",
        f"b:{biggest}:14",
        f"l:{10**12 - 1}:d",
        "z:20261231",
    ):
        assert button("x", data).callback_data == data
