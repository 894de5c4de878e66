"""Russian grammar around names.

Names of contacts, reps, teams and companies are stored as they were typed, in the nominative,
and never declined: «шаг с Мария Соколова», «для ООО Ромашка», «Верну Иван Петров» are slips a
native speaker notices at once. So no Russian template may put a name where the grammar needs
another case: right after a preposition, after a verb that governs it, or bare after a noun in an
oblique case («правила команды Продажи»). Templates build the sentence around the name instead:
«<b>{name}</b>: …», «контакт <b>{name}</b>», «команда «{team}»».
"""

from __future__ import annotations

import re
import string

import pytest

from bot.locales import CATALOG

RU = CATALOG["ru"]


def _listed(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# What each placeholder holds, decided from the handlers that fill it. A name is any text typed by
# a person or Telegram that Russian grammar would have to decline: a contact's name, a rep's first
# name, a team's (group's) title, a company, a search that is usually part of a name.
NAMES = frozenset({"name", "names", "team", "company", "query"})
NOT_NAMES = frozenset(
    {
        # numbers, counts already with their word ("5 звонков"), percentages
        *("n", "calls", "balls", "quota", "cycle", "page", "pages", "ratio", "total", "polite"),
        *("due", "ranked", "shown", "contacts", "steps", "left", "low", "high", "goal", "rate"),
        *("done", "rank", "members", "clients", "stop", "line", "mb", "rows", "place"),
        # dates and times, formatted by the code
        *("day", "when", "time", "span", "end", "start", "days", "ranges", "created", "period"),
        # the bot's own words or markup
        *("outcome", "status", "label", "source", "details", "detail", "extras", "bar", "link"),
        # typed values that are not names: a Next Step's action, a note, a setting, a file, a phone
        *("action", "note", "value", "key", "example", "zone", "file", "phone", "why"),
        *("columns",),  # the import's header cells and sample values, listed by the code
    }
)
# A placeholder that holds a name in one key only.
NAMES_IN_KEY = {"import.why.name_taken": frozenset({"value"})}

# Prepositions: none of them takes the nominative.
PREPOSITIONS = _listed(
    "с со для у о об обо к ко от ото без про в во на по за над надо под подо перед передо при из "
    "изо до после"
)
# Verbs that govern a name's case: the accusative (верну, спросите, добавьте) or the dative
# (позвоните, напомните, напишите).
VERBS = _listed(
    "верну вернуть верните позвонить позвоните звонить звоните перезвонить перезвоните напомнить "
    "напомните написать напишите спросить спросите добавить добавьте удалить удалите найти "
    "найдите отпустить отпустите поздравляю поздравьте ждёт ждут"
)
# Nouns in an oblique case: a name right after one of them must be in «quotes» («команды «X»»),
# where it stays in the nominative as a title.
OBLIQUE_NOUNS = _listed(
    "команды команде команду командой контакта контакту контактом компании компанию компанией "
    "менеджера менеджеру менеджером"
)

# between the governing word and the placeholder: spaces, HTML tags, quotes
_GAP = r"(?:\s|<[^<>]*>|[«»\"“”„'])*"
_GAP_NO_QUOTES = r"(?:\s|<[^<>]*>)*"


def _words(words: tuple[str, ...]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


def _pattern(words: tuple[str, ...], gap: str, names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![\w-])(?:{_words(words)})(?![\w-]){gap}\{{(?:{'|'.join(sorted(names))})[}}!:]",
        re.IGNORECASE,
    )


def slips(template: str, names: frozenset[str] = NAMES) -> list[str]:
    """The fragments of ``template`` that put a name where Russian needs another case."""
    found: list[str] = []
    for pattern in (
        _pattern(PREPOSITIONS + VERBS, _GAP, names),
        _pattern(OBLIQUE_NOUNS, _GAP_NO_QUOTES, names),
    ):
        found += [match.group(0) for match in pattern.finditer(template)]
    return found


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize(
    "template",
    [
        "🎯 Следующий шаг с <b>{name}</b>: когда?",
        "Удалить шаг <i>{detail}</i> с <b>{name}</b>?",
        "Верну {name} в ваш список {day}.",
        "📞 Пришлите новый телефон для <b>{name}</b>",
        "<b>Ballback в {team}</b>",
        "✅ Вы в «{team}»",
        "Со {name} всё ясно",
        "⚙️ <b>Правила команды {team}</b>",
        "звонок {name!r} от {company}",
        "Позвоните <b>{name}</b> завтра",
    ],
)
def test_the_check_catches_a_declined_name(template: str) -> None:
    assert slips(template)


@pytest.mark.parametrize(
    "template",
    [
        "🎯 <b>{name}</b>: следующий шаг — когда?",
        "Удалить шаг <i>{detail}</i> — контакт <b>{name}</b>?",
        "📞 <b>{name}</b>, {day}: во сколько?",
        "<b>Ballback · {team}</b>",
        "⚙️ <b>Правила команды «{team}»</b>",
        "{n}. <b>{name}</b>{company}: перезвонить с {day}",
        "Звонок {n} из {quota} сегодня: <b>{name}</b>",
        "Привет, {name}!",
        "Ваши настройки (команда <b>{team}</b>)",
        "Не нашёл номера в «{value}»",
    ],
)
def test_the_check_lets_a_nominative_name_be(template: str) -> None:
    assert slips(template) == []


def test_every_placeholder_is_known_to_be_a_name_or_not() -> None:
    """A new placeholder must be sorted here first, so that a new name cannot slip past."""
    used = {name for template in RU.values() for name in placeholders(template)}
    assert sorted(used - NAMES - NOT_NAMES) == []
    assert used >= NAMES and not NAMES & NOT_NAMES


def test_no_russian_template_declines_a_name() -> None:
    found = [
        f"{key}: {hit}"
        for key, template in RU.items()
        for hit in slips(template, NAMES | NAMES_IN_KEY.get(key, frozenset()))
    ]
    assert found == []
