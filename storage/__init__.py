"""Storage layer of DL Tutor Bot: SQLite via sqlite-utils (see docs/STORAGE.md).

Import the pieces from here: ``from storage import AsyncStore, Store, StorageError``.
This package never imports telegram, bot or content.
"""

from .aio import AsyncStore
from .answers import AttemptResult
from .db import NotFound, SchemaTooNew, StorageError, open_db
from .store import Store
from .streaks import StreakState, StreakUpdate

__all__ = ["AsyncStore", "AttemptResult", "NotFound", "SchemaTooNew", "StorageError",
           "Store", "StreakState", "StreakUpdate", "open_db"]
