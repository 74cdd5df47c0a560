"""Hash sets in the metadata store: import, list, remove, and the look-up at ingest.

A hash set is a named list of md5, sha1, sha256 and phash hashes with one category
(``known-benign``, ``known-relevant``, or any other lowercase word of the user's) that every case
is matched against.
Imports stream: the file is read once, entries are inserted a few thousand at a time, and the
whole import is one transaction, so a malformed line anywhere leaves nothing behind. Entries are
keyed by (algorithm, hash, set): the look-up of a file is one indexed query; duplicates within a
list count once.

:func:`match` is what ingest calls for each file (file hashes, equal or not);
:func:`skip_reason` is what the stage runner asks before running an analysis stage on a media
item. Perceptual hashes (``phash``) are never looked up at ingest: :func:`perceptual_entries`
loads them all for the report, which compares them with the case's pictures by Hamming distance
(:mod:`aima.report.hashsets`).
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from aima.errors import AimaError, NotFound
from aima.hashsets.formats import ALGORITHMS, EXACT_ALGORITHMS, FORMATS, PHASH, Entry, \
    HashListError, detect_format, read_csv, read_text, read_vic
from aima.storage import Stores, audit
from aima.storage.database import Database
from aima.storage.models import HashSet, HashSetEntry, MediaItem

#: Rows per INSERT batch: large enough to amortise the round trip, small enough to stay bounded.
BATCH_ROWS = 5000
KNOWN_BENIGN = "known-benign"
#: Categories with a meaning in AIMA (others are kept and shown as given).
CATEGORIES = (KNOWN_BENIGN, "known-relevant")
CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")


class HashSetError(AimaError):
    """A hash set operation refused (bad name or category, a name in use)."""


@dataclass(frozen=True)
class HashSetInfo:
    """What ``aima hashsets list`` shows of one set."""

    name: str
    category: str
    entries: int
    format: str
    source_name: str | None
    imported_at: datetime
    imported_by: str

    @classmethod
    def of(cls, row: HashSet) -> HashSetInfo:
        at = row.imported_at if row.imported_at.tzinfo else row.imported_at.replace(tzinfo=UTC)
        return cls(row.name, row.category, row.entries, row.format, row.source_name, at,
                   row.imported_by)


# --- import ---------------------------------------------------------------------------------------


def import_file(database: Database, name: str, path: Path | str, *, category: str,
                actor: str, format: str = "auto", vic_categories: set[int] | None = None,
                algorithm: str | None = None,
                on_bytes: Callable[[int], None] | None = None) -> HashSetInfo:
    """Import the hash list at ``path`` as set ``name`` (see :mod:`aima.hashsets.formats`).

    ``algorithm`` (md5, sha1, sha256 or phash): every hash of a text list, and of a CSV ``hash``
    column, must be of it; None tells them apart by length.

    ``on_bytes(n)`` is called as the file is read (for a progress bar). Raises HashListError
    (with the line) for a malformed entry and HashSetError for a name in use; either way nothing
    is imported. Audit-logged as ``hashset.import``.
    """
    path = Path(path)
    if format != "auto" and format not in FORMATS:
        raise HashSetError(f"unknown format {format!r}; expected auto, " + ", ".join(FORMATS))
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise HashSetError(f"unknown algorithm {algorithm!r}; expected " + ", ".join(ALGORITHMS))
    with open(path, "rb") as raw:
        stream = io.BufferedReader(_Counted(raw, on_bytes), buffer_size=1 << 16)
        if format == "auto":
            format = detect_format(stream.peek(8192)[:8192])
        if vic_categories and format != "vic":
            raise HashSetError(f"VICS categories select records of VICS JSON only; {path.name} "
                               f"reads as {format}")
        if algorithm is not None and format in ("vic", "nsrl"):
            raise HashSetError(f"--algorithm applies to text and CSV lists; {path.name} reads as "
                               f"{format}, whose fields name their algorithms")
        if format == "vic":
            entries = read_vic(stream, categories=vic_categories)
        else:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            entries = (read_text(text, algorithm) if format == "text"
                       else read_csv(text, nsrl=format == "nsrl", algorithm=algorithm))
        return import_entries(database, name, entries, category=category, actor=actor,
                              format=format, source_name=path.name)


def import_entries(database: Database, name: str, entries: Iterable[Entry], *, category: str,
                   actor: str, format: str, source_name: str | None = None,
                   batch_rows: int = BATCH_ROWS) -> HashSetInfo:
    """Insert ``entries`` as a new set in one transaction (all or nothing); audit-logged."""
    _check(name, category)
    if find(database, name) is not None:
        raise HashSetError(f"a hash set named {name!r} exists already; remove it first "
                           f"(aima hashsets remove {name})")
    read = 0
    with database.session() as session, _import_cache(session):
        row = HashSet(name=name, category=category, format=format, source_name=source_name,
                      entries=0, imported_by=actor)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # imported by someone else since the check above
            raise HashSetError(f"a hash set named {name!r} exists already") from None
        set_id, connection = row.id, session.connection()
        if connection.dialect.name == "postgresql":
            read = _copy_postgresql(connection, set_id, entries)
        else:
            insert = _insert_ignoring_duplicates(connection.dialect.paramstyle)
            for batch in _batches(entries, batch_rows):
                read += len(batch)
                # Plain DB-API executemany: SQLAlchemy's per-row parameter handling would double
                # the time of a million-row import.
                connection.exec_driver_sql(insert, [(e.algorithm, e.hash, set_id) for e in batch])
        if read == 0:
            raise HashListError(f"no hashes found in {source_name or 'the list'}")
        row.entries = session.scalar(
            select(func.count()).select_from(HashSetEntry).where(HashSetEntry.set_id == row.id))
        session.flush()
        info = HashSetInfo.of(row)
    audit.record(database, actor=actor, action="hashset.import",
                 details={"name": name, "category": category, "format": format,
                          "source": source_name, "entries": info.entries, "read": read})
    return info


def _check(name: str, category: str) -> None:
    if not name.strip() or len(name) > 200:
        raise HashSetError("a hash set needs a name of 1 to 200 characters")
    if not CATEGORY.fullmatch(category):
        raise HashSetError(f"category {category!r}: expected a lowercase word such as "
                           + " or ".join(CATEGORIES))


#: SQLite page cache during an import (KiB): hashes arrive in random key order, and with
#: SQLite's default 2 MB cache a million of them take twice as long to insert. Bounded, and given
#: back when the import ends.
SQLITE_IMPORT_CACHE_KIB = 64 * 1024


@contextmanager
def _import_cache(session):
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    default = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(default)}")


def _insert_ignoring_duplicates(paramstyle: str) -> str:
    """INSERT of one entry that skips one already there (SQLite and PostgreSQL alike)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    return (f"INSERT INTO {HashSetEntry.__tablename__} (algorithm, hash, set_id) "
            f"VALUES ({mark}, {mark}, {mark}) ON CONFLICT DO NOTHING")


def _copy_postgresql(connection, set_id: int, entries: Iterable[Entry]) -> int:
    """PostgreSQL: COPY the entries into a temporary table, then one INSERT ... SELECT that
    skips duplicates (row-by-row inserts are about three times slower), then ANALYZE. Returns the
    entries read.
    """
    read = 0
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE hash_set_import (algorithm text, hash text) "
                       "ON COMMIT DROP")
        with cursor.copy("COPY hash_set_import (algorithm, hash) FROM STDIN") as copy:
            for entry in entries:
                copy.write_row(entry)
                read += 1
        cursor.execute(
            f"INSERT INTO {HashSetEntry.__tablename__} (algorithm, hash, set_id) "
            "SELECT algorithm, hash, %s FROM hash_set_import ORDER BY algorithm, hash "
            "ON CONFLICT DO NOTHING", (set_id,))
        cursor.execute("DROP TABLE hash_set_import")
        # Fresh statistics: until autovacuum gets to a table that just grew by a million rows,
        # the planner may scan it whole for every look-up (half a second a file, measured).
        cursor.execute(f"ANALYZE {HashSetEntry.__tablename__}")
    return read


def _batches(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Counted(io.RawIOBase):
    """A binary file that reports how many bytes were read from it."""

    def __init__(self, raw, on_bytes: Callable[[int], None] | None):
        self._raw, self._on_bytes = raw, on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n and self._on_bytes is not None:
            self._on_bytes(n)
        return n


# --- list, remove -------------------------------------------------------------------------------


def find(database: Database, name: str) -> HashSetInfo | None:
    with database.session() as session:
        row = session.scalars(select(HashSet).where(HashSet.name == name)).one_or_none()
        return HashSetInfo.of(row) if row is not None else None


def list_sets(database: Database) -> list[HashSetInfo]:
    """Every hash set, by name."""
    with database.session() as session:
        rows = session.scalars(select(HashSet).order_by(HashSet.name))
        return [HashSetInfo.of(row) for row in rows]


def remove(database: Database, name: str, *, actor: str) -> HashSetInfo:
    """Delete set ``name`` and its entries; audit-logged as ``hashset.remove``.

    Matches already recorded on media items stay until their case is analysed again.
    """
    with database.session() as session:
        row = session.scalars(select(HashSet).where(HashSet.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no hash set named {name!r} (aima hashsets list shows them)")
        info = HashSetInfo.of(row)
        # Explicit rather than ON DELETE CASCADE, which SQLite applies only with its pragma on.
        session.execute(delete(HashSetEntry).where(HashSetEntry.set_id == row.id))
        session.delete(row)
    audit.record(database, actor=actor, action="hashset.remove",
                 details={"name": name, "category": info.category, "entries": info.entries})
    return info


# --- matching -----------------------------------------------------------------------------------


def match(database: Database, sha256: str | None, md5: str | None = None,
          sha1: str | None = None) -> list[dict[str, str]]:
    """The hash sets holding any of the file's hashes: ``[{"set", "category", "algorithm"}]`` by
    set name, ``algorithm`` the strongest that matched (sha256, then sha1, then md5).

    One query on the (algorithm, hash) key whatever the number of sets. Exact file hashes only:
    a ``phash`` entry never matches here.
    """
    wanted = [(algorithm, value.lower()) for algorithm, value in
              (("sha256", sha256), ("md5", md5), ("sha1", sha1)) if value]
    if not wanted:
        return []
    statement = (
        select(HashSet.name, HashSet.category, HashSetEntry.algorithm).distinct()
        .join(HashSetEntry, HashSetEntry.set_id == HashSet.id)
        .where(or_(*(and_(HashSetEntry.algorithm == algorithm, HashSetEntry.hash == value)
                     for algorithm, value in wanted)))
    )
    strength = {algorithm: n for n, algorithm in enumerate(EXACT_ALGORITHMS)}  # md5 weakest
    found: dict[str, dict[str, str]] = {}
    with database.session() as session:
        for name, category, algorithm in session.execute(statement):
            known = found.get(name)
            if known is None or strength[algorithm] > strength[known["algorithm"]]:
                found[name] = {"set": name, "category": category, "algorithm": algorithm}
    return [found[name] for name in sorted(found)]


@dataclass(frozen=True)
class PerceptualEntries:
    """Every ``phash`` entry of every hash set, as arrays (one row per (hash, set))."""

    hashes: np.ndarray  # (n,) uint64
    set_index: np.ndarray  # (n,) index into sets
    sets: list[tuple[str, str]]  # (name, category)

    def __len__(self) -> int:
        return len(self.hashes)


def perceptual_entries(database: Database) -> PerceptualEntries:
    """All ``phash`` entries with their sets' names and categories: one query (the
    (algorithm, hash) key's prefix), read in chunks into numpy arrays."""
    statement = (select(HashSetEntry.hash, HashSet.name, HashSet.category)
                 .join(HashSet, HashSet.id == HashSetEntry.set_id)
                 .where(HashSetEntry.algorithm == PHASH))
    sets: dict[tuple[str, str], int] = {}
    hashes: list[np.ndarray] = []
    indexes: list[np.ndarray] = []
    with database.session() as session:
        result = session.execute(statement.execution_options(yield_per=50_000))
        for chunk in result.partitions():
            hashes.append(np.array([int(value, 16) for value, _, _ in chunk], dtype=np.uint64))
            indexes.append(np.array([sets.setdefault((name, category), len(sets))
                                     for _, name, category in chunk], dtype=np.int32))
    return PerceptualEntries(
        hashes=np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64),
        set_index=np.concatenate(indexes) if indexes else np.zeros(0, dtype=np.int32),
        sets=list(sets))


def record_matches(database: Database, media_id: uuid.UUID | str,
                   matches: list[dict[str, str]]) -> None:
    """Keep ``matches`` on the media item (what the pipeline acts on and the report shows)."""
    with database.session() as session:
        session.execute(update(MediaItem).where(MediaItem.id == uuid.UUID(str(media_id)))
                        .values(hash_matches=matches))


def benign_reason(matches: list[dict[str, Any]] | None) -> str | None:
    """``known-benign: in hash set NAME`` when an exact (file hash) match is known-benign, else
    None. A perceptual (``phash``) match never sets a file aside: it says that a picture looks
    like one in the set, a lead for a reviewer, not proof that it is the same file."""
    for found in matches or []:
        if found.get("category") == KNOWN_BENIGN and found.get("algorithm") != PHASH:
            return f"{KNOWN_BENIGN}: in hash set {found['set']}"
    return None


def skip_reason(stores: Stores, media: MediaItem | uuid.UUID | str) -> str | None:
    """Why the analysis stages should leave this media item alone, or None.

    ``known-benign: in hash set NAME`` when ingest found the file in a known-benign set and
    ``AIMA_HASHSETS_SKIP_KNOWN_BENIGN`` is true (the default). ``media`` is the item (no query)
    or its id (one query).
    """
    if not stores.settings.hashsets_skip_known_benign:
        return None
    if isinstance(media, MediaItem):
        return benign_reason(media.hash_matches)
    with stores.metadata.session() as session:
        matches = session.scalar(select(MediaItem.hash_matches)
                                 .where(MediaItem.id == uuid.UUID(str(media))))
    return benign_reason(matches)
