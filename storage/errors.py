"""Why the database cannot be used, said in one line (the command line prints it as it is)."""

from __future__ import annotations


class StorageError(RuntimeError):
    """The database file cannot be opened or used."""


class SchemaTooNewError(StorageError):
    """The file was written by a newer Ballback: it is left untouched."""
