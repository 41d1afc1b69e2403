"""Storage layer of DL Tutor Bot: SQLite via sqlite-utils (see docs/STORAGE.md).

Import the pieces from here: ``from storage import AsyncStore, Store, StorageError``, and the
models from ``storage.models``. This package imports the pure rules of content/ (calendar,
streaks, scoring), never telegram or bot.
"""

from .aio import AsyncStore
from .db import open_db
from .errors import DatabaseBusy, DiskFull, NotFound, ReadOnlyDatabase, SchemaTooNew, StorageError
from .models import AttemptResult
from .store import Store

__all__ = ["AsyncStore", "AttemptResult", "DatabaseBusy", "DiskFull", "NotFound", "ReadOnlyDatabase",
           "SchemaTooNew", "StorageError", "Store", "open_db"]
