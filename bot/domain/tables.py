"""Tables in and out: reading the CSV and XLSX files reps keep their contacts in, and writing
CSV that Excel opens correctly in Russian.

Reading takes real-world files: UTF-8 with or without a byte order mark, Windows-1251 (what
Russian Excel saves as "CSV"), UTF-16 ("Unicode text"), ``;``, ``,`` or tab delimiters, quoted
fields, blank lines; XLSX through openpyxl in read-only mode. Whatever is not a table, is too big
or has too many rows is refused with a :class:`TableError`, before anything is stored.

Excel decides a CSV file's encoding from a byte order mark and its delimiter from the system's
list separator, which is ``;`` wherever the decimal separator is a comma (Russia included). So
every CSV written here is UTF-8 with a BOM, ``;``-separated, with CRLF line ends. A cell that
Excel would run as a formula (it starts with ``=``, ``+``, ``-`` or ``@``) gets a leading
apostrophe; the reader takes it off again.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

CSV_DELIMITER = ";"
MAX_BYTES = 5 * 1024 * 1024  # a file larger than this is refused
MAX_ROWS = 10_000  # contacts in one file
MAX_UNZIPPED = 50 * 1024 * 1024  # an XLSX that inflates beyond this is refused (a zip bomb)
MAX_COLUMNS = 100  # cells further right are ignored
HEADER_ROWS = 5  # the header may sit below a title row or two
_DELIMITERS = (";", ",", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_RECORDS = 50
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TableError(StrEnum):
    NOT_A_TABLE = "not_a_table"  # binary, a broken or non-spreadsheet zip
    OLD_EXCEL = "old_excel"  # .xls: the old binary format
    EMPTY = "empty"  # nothing but blank lines
    TOO_BIG = "too_big"  # over MAX_BYTES (or inflates beyond MAX_UNZIPPED)
    TOO_MANY_ROWS = "too_many_rows"  # far more rows than MAX_ROWS


@dataclass(frozen=True, slots=True)
class Table:
    """The non-blank rows, each with its number as a spreadsheet shows it (from 1)."""

    rows: list[tuple[int, list[str]]]


def read_table(data: bytes) -> Table | TableError:
    """Read a CSV or XLSX file's rows; the content decides which, not the file name."""
    if len(data) > MAX_BYTES:
        return TableError.TOO_BIG
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE2 compound file: the old .xls
        return TableError.OLD_EXCEL
    text = decode_text(data)
    if text is None:
        return TableError.NOT_A_TABLE
    if not text.strip():
        return TableError.EMPTY
    return _read_csv(text)


def decode_text(data: bytes) -> str | None:
    """The text of a CSV (or vCard) file, or ``None`` when it is no text at all."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1251")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:_SNIFF_CHARS]
        controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
        if "\x00" in text or controls > len(sample) // 200:
            return None  # binary: an image or a PDF renamed .csv
        return text
    return None


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records into the most rows as wide as the header."""
    best, best_score = ",", (0, 1)
    for delimiter in _DELIMITERS:
        reader = csv.reader(io.StringIO(text[:_SNIFF_CHARS]), delimiter=delimiter)
        widths = []
        for record in reader:
            if any(cell.strip() for cell in record):
                widths.append(len(record))
            if len(widths) >= _SNIFF_RECORDS:
                break
        if not widths or widths[0] < 2:
            continue
        score = (sum(1 for width in widths if width == widths[0]), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _clean_cell(cell: str) -> str:
    return unprotect(cell.replace("\u00a0", " ").strip())


def _read_csv(text: str) -> Table | TableError:
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, record in enumerate(reader, 1):
            cells = [_clean_cell(cell) for cell in record[:MAX_COLUMNS]]
            if any(cells):
                rows.append((number, cells))
                if len(rows) > MAX_ROWS + HEADER_ROWS:
                    return TableError.TOO_MANY_ROWS
    except csv.Error:
        return TableError.NOT_A_TABLE
    return Table(rows) if rows else TableError.EMPTY


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 79123456789.0: a phone typed as a number
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    return _clean_cell(str(value))


def _read_xlsx(data: bytes) -> Table | TableError:
    import openpyxl  # imported here: only an import of a spreadsheet needs it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                return TableError.TOO_BIG
            if "xl/workbook.xml" not in archive.namelist():
                return TableError.NOT_A_TABLE  # some other zip: a .docx, an archive
    except zipfile.BadZipFile:
        return TableError.NOT_A_TABLE
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # any failure to parse untrusted input means "not a spreadsheet"
        return TableError.NOT_A_TABLE
    rows: list[tuple[int, list[str]]] = []
    try:
        sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store wrong ones; read what is there
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            cells = [_cell_text(value) for value in values[:MAX_COLUMNS]]
            if any(cells):
                rows.append((number, cells))
                if len(rows) > MAX_ROWS + HEADER_ROWS:
                    return TableError.TOO_MANY_ROWS
    except Exception:
        return TableError.NOT_A_TABLE
    finally:
        workbook.close()
    return Table(rows) if rows else TableError.EMPTY


def excel_safe(cell: str) -> str:
    """Keep Excel from reading a cell as a formula (``-`` or ``+7 912…`` would be one)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def unprotect(cell: str) -> str:
    """Undo :func:`excel_safe`: ``'=x`` reads as ``=x``; any other apostrophe stays."""
    if len(cell) > 1 and cell[0] == "'" and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file for Excel: UTF-8 with BOM, ``;``, CRLF; ``None`` is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([excel_safe(str(cell)) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else excel_safe(str(cell)) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def zip_files(files: dict[str, bytes]) -> bytes:
    """A zip of ``name -> content``, deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()
