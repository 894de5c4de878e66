"""The contact exports of amoCRM, Bitrix24, Google Contacts and Outlook import without questions.

The files are written by hand after each format's documented columns (the columns that matter,
and the ones that look like them but are something else), with Cyrillic names and several phones
a row: the mobile phone becomes the contact's, the others go into the note.
"""

from __future__ import annotations

import csv
import io

from bot.domain.contacts import MAX_NOTE
from bot.domain.tables import Table, read_table
from bot.domain.transfer import (
    Column,
    ImportRow,
    Phone,
    PhoneKind,
    Problem,
    Rejected,
    column_of,
    make_row,
    read_contacts,
)
from tests.conftest import OLGA, BotHarness, last_text
from tests.test_import import contacts, send_file


def table_file(
    header: list[str], rows: list[dict[str, str]], *, delimiter: str, encoding: str
) -> bytes:
    """A CSV file with ``header``; each row names only its filled cells."""
    unknown = {key for row in rows for key in row} - set(header)
    assert not unknown, unknown  # a typo in a test's column would test nothing
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode(encoding)


# -- amoCRM --------------------------------------------------------------------------------------

AMOCRM = [
    "ID",
    "Имя (контакт)",
    "Фамилия (контакт)",
    "Компания",
    "Должность (контакт)",
    "Ответственный",
    "Дата создания (контакт)",
    "Теги",
    "Рабочий телефон (контакт)",
    "Рабочий прямой телефон (контакт)",
    "Мобильный телефон (контакт)",
    "Факс (контакт)",
    "Домашний телефон (контакт)",
    "Другой телефон (контакт)",
    "Рабочий email (контакт)",
    "Адрес (компания)",
    "Бюджет (сделка)",
    "Примечание 1",
    "Примечание 2",
]


async def test_amocrm_contacts_export(bot: BotHarness) -> None:
    content = table_file(
        AMOCRM,
        [
            {
                "ID": "1001",
                "Имя (контакт)": "Иван",
                "Фамилия (контакт)": "Петров",
                "Компания": "ООО «Ромашка»",
                "Должность (контакт)": "Директор",
                "Ответственный": "Мария Соколова",
                "Дата создания (контакт)": "01.10.2025 10:00:00",
                "Рабочий телефон (контакт)": "+7 (343) 123-45-67",
                "Мобильный телефон (контакт)": "8 912 345-67-89",
                "Рабочий email (контакт)": "ivan@romashka.ru",
                "Адрес (компания)": "Екатеринбург, ул. Ленина, 1",
                "Бюджет (сделка)": "150000",
                "Примечание 1": "Перезвонить после 15:00",
            },
            {
                "ID": "1002",
                "Имя (контакт)": "Ольга",
                "Фамилия (контакт)": "Смирнова",
                "Рабочий телефон (контакт)": "+7 343 765-43-21",
                "Примечание 2": "Только через приёмную",
            },
            {
                "ID": "1003",
                "Имя (контакт)": "Сергей",
                "Фамилия (контакт)": "Кузнецов",
                "Компания": "ИП Кузнецов",
                "Мобильный телефон (контакт)": "+7 912 000-11-22, +7 913 000-33-44",
                "Факс (контакт)": "+7 343 222-33-44",
                "Домашний телефон (контакт)": "8 343 210-20-30",
            },
        ],
        delimiter=";",
        encoding="utf-8-sig",
    )
    reply = last_text(await send_file(bot, "amocrm_export_contacts.csv", content))
    assert "New contacts: <b>3</b>" in reply and "Rows left out" not in reply
    assert await contacts(bot) == [
        (
            "Иван Петров",
            "ООО «Ромашка»",
            "+79123456789",
            "Перезвонить после 15:00\nРабочий: +7 343 123-45-67",
        ),
        ("Ольга Смирнова", None, "+73437654321", "Только через приёмную"),
        (
            "Сергей Кузнецов",
            "ИП Кузнецов",
            "+79120001122",
            "Мобильный: +7 913 000-33-44\nФакс: +7 343 222-33-44\nДомашний: +7 343 210-20-30",
        ),
    ]


def test_amocrm_headers() -> None:
    assert column_of("Полное имя (контакт)") is Column.NAME
    assert column_of("Основной контакт") is Column.NAME
    assert column_of("Имя (контакт)") is Column.FIRST
    assert column_of("Название (компания)") is Column.COMPANY
    assert column_of("Рабочий телефон (компания)") is Column.PHONE
    assert column_of("Адрес (компания)") is None
    assert column_of("Название (сделка)") is None
    assert column_of("Примечание к контакту") is Column.NOTE


# -- Bitrix24 ------------------------------------------------------------------------------------

BITRIX24 = [
    "ID",
    "Обращение",
    "Имя",
    "Отчество",
    "Фамилия",
    "Дата рождения",
    "Должность",
    "Компания",
    "Рабочий телефон",
    "Мобильный телефон",
    "Номер факса",
    "Домашний телефон",
    "Номер пейджера",
    "Телефон для рассылок",
    "Другой телефон",
    "Рабочий e-mail",
    "Комментарий",
    "Тип контакта",
    "Источник",
    "Ответственный",
]


async def test_bitrix24_contacts_export_in_windows_1251(bot: BotHarness) -> None:
    content = table_file(
        BITRIX24,
        [
            {
                "ID": "12",
                "Обращение": "г-н",
                "Имя": "Иван",
                "Отчество": "Иванович",
                "Фамилия": "Петров",
                "Должность": "Директор",
                "Компания": "ООО Ромашка",
                "Рабочий телефон": "+7 343 123-45-67",
                "Мобильный телефон": "+7 912 345-67-89",
                "Номер факса": "+7 343 123-45-68",
                "Рабочий e-mail": "petrov@romashka.ru",
                "Комментарий": "Звонить утром",
                "Тип контакта": "Клиенты",
                "Источник": "Звонок",
                "Ответственный": "Мария Соколова",
            },
            {
                "ID": "13",
                "Имя": "Анна",
                "Фамилия": "Сидорова",
                "Телефон для рассылок": "8 (922) 111-22-33",
                "Другой телефон": "8 (343) 300-40-50",
                "Тип контакта": "Партнёры",
            },
        ],
        delimiter=";",
        encoding="cp1251",
    )
    reply = last_text(await send_file(bot, "CONTACT_20251001.csv", content, OLGA))
    assert "Новых контактов: <b>2</b>" in reply and "Пропущено" not in reply
    assert await contacts(bot, OLGA) == [
        (
            "Петров Иван Иванович",
            "ООО Ромашка",
            "+79123456789",
            "Звонить утром\nРабочий: +7 343 123-45-67\nФакс: +7 343 123-45-68",
        ),
        ("Анна Сидорова", None, "+79221112233", "Другой: +7 343 300-40-50"),
    ]


# -- Google Contacts -----------------------------------------------------------------------------

GOOGLE = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Organization Department",
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Phone 2 - Label",
    "Phone 2 - Value",
    "Phone 3 - Label",
    "Phone 3 - Value",
]
GOOGLE_OLD = [
    "Name",
    "Given Name",
    "Additional Name",
    "Family Name",
    "Yomi Name",
    "Given Name Yomi",
    "Additional Name Yomi",
    "Family Name Yomi",
    "Name Prefix",
    "Name Suffix",
    "Initials",
    "Nickname",
    "Short Name",
    "Maiden Name",
    "Birthday",
    "Notes",
    "Group Membership",
    "E-mail 1 - Type",
    "E-mail 1 - Value",
    "Phone 1 - Type",
    "Phone 1 - Value",
    "Phone 2 - Type",
    "Phone 2 - Value",
    "Organization 1 - Type",
    "Organization 1 - Name",
    "Organization 1 - Yomi Name",
    "Organization 1 - Title",
    "Organization 1 - Department",
]


async def test_google_contacts_csv(bot: BotHarness) -> None:
    content = table_file(
        GOOGLE,
        [
            {
                "First Name": "Иван",
                "Last Name": "Петров",
                "File As": "Петров Иван",
                "Organization Name": "ООО Ромашка",
                "Organization Title": "Менеджер",
                "Organization Department": "Продажи",
                "Notes": "Любит утренние звонки",
                "Labels": "* myContacts",
                "E-mail 1 - Label": "* Work",
                "E-mail 1 - Value": "ivan@romashka.ru",
                "Phone 1 - Label": "Work",
                "Phone 1 - Value": "+7 343 123-45-67",
                "Phone 2 - Label": "Mobile",
                "Phone 2 - Value": "+7 912 345-67-89",
            },
            {
                "First Name": "Ольга",
                "Middle Name": "Сергеевна",
                "Last Name": "Смирнова",
                "Organization Title": "Бухгалтер",  # a job title is not a company
                "Labels": "* myContacts",
                "Phone 1 - Label": "Home",
                "Phone 1 - Value": "+7 343 555-66-77",
                "Phone 2 - Label": "* Mobile",
                "Phone 2 - Value": "+7 913 111-22-33 ::: +7 913 444-55-66",
                "Phone 3 - Label": "Склад",
                "Phone 3 - Value": "+7 343 777-88-99",
            },
            {
                "First Name": "John",
                "Last Name": "Smith",
                "Organization Name": "Acme",
                "Phone 1 - Label": "Work",
                "Phone 1 - Value": "+44 20 7946 0958",
                "Phone 2 - Label": "Mobile",
                "Phone 2 - Value": "+44 7911 123456",
            },
        ],
        delimiter=",",
        encoding="utf-8",
    )
    reply = last_text(await send_file(bot, "contacts.csv", content))
    assert "New contacts: <b>3</b>" in reply
    assert "no phone number" not in reply and "Rows left out" not in reply
    assert await contacts(bot) == [
        (
            "Иван Петров",
            "ООО Ромашка",
            "+79123456789",
            "Любит утренние звонки\nРабочий: +7 343 123-45-67",
        ),
        (
            "Смирнова Ольга Сергеевна",
            None,
            "+79131112233",
            "Домашний: +7 343 555-66-77\nМобильный: +7 913 444-55-66\nСклад: +7 343 777-88-99",
        ),
        ("John Smith", "Acme", "+447911123456", "Work: +44 20 7946 0958"),
    ]


async def test_google_contacts_csv_of_the_older_format(bot: BotHarness) -> None:
    content = table_file(
        GOOGLE_OLD,
        [
            {
                "Name": "Сергей Кузнецов",
                "Given Name": "Сергей",
                "Family Name": "Кузнецов",
                "Group Membership": "* My Contacts",
                "Phone 1 - Type": "Work Fax",
                "Phone 1 - Value": "+7 343 300-40-50",
                "Phone 2 - Type": "Mobile",
                "Phone 2 - Value": "8 912 000-11-22",
                "Organization 1 - Type": "",
                "Organization 1 - Name": "ИП Кузнецов",
                "Organization 1 - Title": "Владелец",
            },
            {
                "Name": "Анна",
                "Given Name": "Анна",
                "Phone 1 - Type": "Mobile",
                "Phone 1 - Value": "нет номера",
            },
        ],
        delimiter=",",
        encoding="utf-8",
    )
    reply = last_text(await send_file(bot, "google.csv", content))
    assert "New contacts: <b>1</b>" in reply
    assert "• row 3: no phone number in “нет номера”" in reply  # the value, not “Mobile”
    assert await contacts(bot) == [
        ("Сергей Кузнецов", "ИП Кузнецов", "+79120001122", "Факс: +7 343 300-40-50"),
    ]


# -- Outlook -------------------------------------------------------------------------------------

OUTLOOK = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Suffix",
    "Company",
    "Department",
    "Job Title",
    "Business Street",
    "Business City",
    "Assistant's Phone",
    "Business Fax",
    "Business Phone",
    "Business Phone 2",
    "Callback",
    "Car Phone",
    "Company Main Phone",
    "Home Fax",
    "Home Phone",
    "Home Phone 2",
    "ISDN",
    "Mobile Phone",
    "Other Fax",
    "Other Phone",
    "Pager",
    "Primary Phone",
    "Radio Phone",
    "TTY/TDD Phone",
    "Telex",
    "Account",
    "Assistant's Name",
    "Birthday",
    "Categories",
    "Notes",
    "E-mail Address",
    "E-mail Type",
    "E-mail Display Name",
]
OUTLOOK_RU = [
    "Обращение",
    "Имя",
    "Отчество",
    "Фамилия",
    "Суффикс",
    "Организация",
    "Отдел",
    "Должность",
    "Улица (раб. адрес)",
    "Город (раб. адрес)",
    "Телефон помощника",
    "Рабочий факс",
    "Рабочий телефон",
    "Телефон раб. 2",
    "Обратный вызов",
    "Телефон в машине",
    "Основной телефон организации",
    "Домашний факс",
    "Домашний телефон",
    "Телефон дом. 2",
    "ISDN",
    "Телефон переносной",
    "Другой факс",
    "Другой телефон",
    "Пейджер",
    "Основной телефон",
    "Радиотелефон",
    "Телетайп/телефон с титрами",
    "Телекс",
    "Заметки",
    "Имя помощника",
    "Код организации",
    "Адрес эл. почты",
    "Тип эл. почты",
    "Краткое имя эл. почты",
]


async def test_outlook_csv_in_english(bot: BotHarness) -> None:
    content = table_file(
        OUTLOOK,
        [
            {
                "Title": "Mr.",
                "First Name": "Иван",
                "Last Name": "Петров",
                "Company": "ООО Ромашка",
                "Job Title": "Director",
                "Business Street": "ул. Ленина, 1",
                "Business Phone": "+7 (343) 123-45-67",
                "Home Phone": "8 343 210-20-30",
                "Mobile Phone": "+7 (912) 345-67-89",
                "Primary Phone": "+7 (912) 345-67-89",  # the mobile again: not repeated
                "Notes": "Встреча в пятницу",
                "E-mail Address": "petrov@romashka.ru",
                "E-mail Type": "SMTP",
                "E-mail Display Name": "Петров Иван (petrov@romashka.ru)",
            },
            {
                "First Name": "Ольга",
                "Middle Name": "Сергеевна",
                "Last Name": "Смирнова",
                "Assistant's Name": "Мария",
                "Company Main Phone": "+7 343 100-20-30",
                "Car Phone": "+7 922 100-20-30",
            },
        ],
        delimiter=",",
        encoding="cp1251",  # Outlook writes CSV in the system's ANSI code page
    )
    reply = last_text(await send_file(bot, "outlook.csv", content))
    assert "New contacts: <b>2</b>" in reply and "Rows left out" not in reply
    assert await contacts(bot) == [
        (
            "Иван Петров",
            "ООО Ромашка",
            "+79123456789",
            "Встреча в пятницу\nРабочий: +7 343 123-45-67\nДомашний: +7 343 210-20-30",
        ),
        ("Смирнова Ольга Сергеевна", None, "+79221002030", "Рабочий: +7 343 100-20-30"),
    ]


async def test_outlook_csv_in_russian(bot: BotHarness) -> None:
    content = table_file(
        OUTLOOK_RU,
        [
            {
                "Обращение": "г-н",
                "Имя": "Иван",
                "Отчество": "Иванович",
                "Фамилия": "Петров",
                "Организация": "ООО Ромашка",
                "Должность": "Директор",
                "Улица (раб. адрес)": "ул. Ленина, 1",
                "Рабочий телефон": "+7 (343) 123-45-67",
                "Телефон в машине": "+7 (922) 555-00-11",
                "Телефон переносной": "+7 (912) 345-67-89",
                "Заметки": "Встреча в пятницу",
                "Имя помощника": "Мария",
                "Код организации": "7701234567",
                "Адрес эл. почты": "petrov@romashka.ru",
                "Тип эл. почты": "SMTP",
                "Краткое имя эл. почты": "Петров Иван",
            },
        ],
        delimiter=",",
        encoding="cp1251",
    )
    reply = last_text(await send_file(bot, "контакты outlook.csv", content, OLGA))
    assert "Новых контактов: <b>1</b>" in reply
    assert await contacts(bot, OLGA) == [
        (
            "Петров Иван Иванович",
            "ООО Ромашка",
            "+79123456789",
            "Встреча в пятницу\nРабочий: +7 343 123-45-67\nТелефон в машине: +7 922 555-00-11",
        ),
    ]


# -- a phone's type in a column of its own, and the pure parts -----------------------------------


async def test_a_phone_type_column_is_never_the_phone(bot: BotHarness) -> None:
    text = (
        "Имя;Тип телефона;Телефон;Тип телефона;Телефон\n"
        "Иван Петров;рабочий;+7 343 123-45-67;мобильный;8 912 345-67-89\n"
        "Олег;Мобильный;8 913 111-22-33;;\n"
    )
    reply = last_text(await send_file(bot, "types.csv", text.encode()))
    assert "New contacts: <b>2</b>" in reply and "Rows left out" not in reply
    assert await contacts(bot) == [
        ("Иван Петров", None, "+79123456789", "Рабочий: +7 343 123-45-67"),
        ("Олег", None, "+79131112233", None),
    ]


def test_headers_that_look_like_others() -> None:
    assert column_of("Phone 1 - Type") is Column.PHONE_TYPE
    assert column_of("Phone 1 - Label") is Column.PHONE_TYPE
    assert column_of("Тип телефона") is Column.PHONE_TYPE
    assert column_of("Phone 1 - Value") is Column.PHONE
    assert column_of("Company Main Phone") is Column.PHONE
    assert column_of("Organization 1 - Name") is Column.COMPANY
    assert column_of("Organization 1 - Title") is None
    assert column_of("Organization Department") is None
    assert column_of("E-mail 1 - Type") is None
    assert column_of("Phonetic First Name") is None
    assert column_of("Name Prefix") is None
    assert column_of("Telex") is None
    assert column_of("Номер пейджера") is None


def test_the_note_keeps_its_limit_and_the_phones() -> None:
    first, second = "первое " * 90, "второе " * 90  # 1260 characters in two cells
    row = make_row(
        2,
        "Иван",
        None,
        [
            Phone("+7 343 123-45-67", PhoneKind.WORK),
            Phone("+7 912 345-67-89", PhoneKind.MOBILE),
            Phone("+7 343 765-43-21", PhoneKind.HOME),
        ],
        [first, second],
    )
    assert isinstance(row, ImportRow)
    assert row.phone == "+79123456789"
    assert row.note is not None and len(row.note) <= MAX_NOTE
    text, work, home = row.note.rsplit("\n", 2)
    assert text.startswith(first.strip() + "\nвторое второе") and text.endswith("второе…")
    assert (work, home) == ("Рабочий: +7 343 123-45-67", "Домашний: +7 343 765-43-21")
    many = [Phone(f"+7 912 000-{n // 100:02d}-{n % 100:02d}", PhoneKind.OTHER) for n in range(99)]
    row = make_row(3, "Anna", None, [Phone("+7 912 345-67-89", PhoneKind.MOBILE), *many], [])
    assert isinstance(row, ImportRow) and row.note is not None
    assert len(row.note) <= MAX_NOTE and row.note.endswith("\n…")
    assert row.note.split("\n")[0] == "Other: +7 912 000-00-00"


def test_a_faxed_only_row_has_no_phone_but_keeps_the_fax() -> None:
    table = read_table(b"Name;Business Fax\nIvan;+7 343 123-45-67\n")
    assert isinstance(table, Table)
    read = read_contacts(table)
    assert not isinstance(read, str)
    assert read[0] == [ImportRow(2, "Ivan", None, None, "Fax: +7 343 123-45-67")]


def test_a_cell_that_is_no_phone_beside_a_good_one() -> None:
    row = make_row(
        2,
        "Иван",
        None,
        [
            Phone("нет", PhoneKind.WORK),  # no phone at all: dropped
            Phone("8 912 345-67-89", PhoneKind.MOBILE),
            Phone("доб. 123", PhoneKind.HOME),  # not a whole number: kept as written
        ],
        [],
    )
    assert row == ImportRow(2, "Иван", None, "+79123456789", "Домашний: доб. 123")
    assert make_row(3, "Иван", None, [Phone("нет", PhoneKind.WORK)], []) == Rejected(
        3, Problem.BAD_PHONE, "нет"
    )
