"""Tables in and out: CSV that Excel opens correctly in Russian, and a zip of several.

Excel decides a CSV file's encoding from a byte order mark and its delimiter from the system's
list separator, which is ``;`` wherever the decimal separator is a comma (Russia included). So
every CSV written here is UTF-8 with a BOM, ``;``-separated, with CRLF line ends. A cell that
Excel would run as a formula (it starts with ``=``, ``+``, ``-`` or ``@``) gets a leading
apostrophe; the reader takes it off again.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence

CSV_DELIMITER = ";"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
