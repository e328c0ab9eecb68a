"""A local copy of the registry, so a process starts from disk instead of reading every
registry record from Chroma (at 100k documents that read takes seconds).

It is a cache of the change log, never a source of truth: each record is kept at its
newest ``changed_at`` (a slower process cannot put an older version back), removals are
kept as tombstones, and the newest ``changed_at`` seen is the point to catch up from.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson


class RegistrySnapshot:
    """Registry records by id in SQLite (shared safely by processes on one data dir)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (
                id TEXT PRIMARY KEY, changed_at REAL NOT NULL, meta TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        self._lock = threading.Lock()

    def load(self) -> tuple[list[tuple[str, dict[str, Any]]], float] | None:
        """(records, newest changed_at), or None when nothing was saved yet."""
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()
            if row is None:
                return None
            records = [
                (record_id, orjson.loads(meta))
                for record_id, meta in self.db.execute("SELECT id, meta FROM records")
            ]
            return records, float(row[0])

    def save(self, records: Iterable[tuple[str, dict[str, Any]]], watermark: float) -> None:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany(
                    "INSERT INTO records VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                    "changed_at = excluded.changed_at, meta = excluded.meta "
                    "WHERE excluded.changed_at >= records.changed_at",
                    [
                        (record_id, float(meta.get("changed_at", 0.0)), orjson.dumps(meta).decode())
                        for record_id, meta in records
                    ],
                )
                self.db.execute(
                    "INSERT INTO meta VALUES ('watermark', ?) ON CONFLICT(key) DO UPDATE SET "
                    "value = max(CAST(value AS REAL), excluded.value)",
                    (watermark,),
                )
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
