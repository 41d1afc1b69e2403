"""docs/STORAGE.md documents every Store API method and every model (as sqlite-utils tests that
every CLI command is documented)."""

from pathlib import Path

import storage.models
from storage._base import access_of
from storage.store import Store

DOC = (Path(__file__).parent.parent / "docs" / "STORAGE.md").read_text()


def test_every_store_method_is_marked_and_documented():
    api = [name for name in dir(Store) if access_of(getattr(Store, name)) is not None]
    assert len(api) > 40
    undocumented = [name for name in api if f"`{name}" not in DOC and f"{name}(" not in DOC]
    assert undocumented == [], "document these Store methods in docs/STORAGE.md"
    unmarked = [name for name in dir(Store) if not name.startswith("_")
                and callable(getattr(Store, name)) and access_of(getattr(Store, name)) is None]
    assert sorted(unmarked) == ["close", "open", "open_reader"]


def test_every_model_is_documented():
    missing = [name for name in storage.models.__all__ if f"`{name}" not in DOC]
    assert missing == [], "document these models in docs/STORAGE.md"
