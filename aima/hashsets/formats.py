"""Readers of hash lists: each turns a stream into (algorithm, hash) entries, one at a time.

Algorithms: the file hashes ``md5``, ``sha1`` and ``sha256``, and ``phash``, the 64-bit perceptual
hash of a picture as ``imagehash`` writes it (``str(imagehash.phash(image))``: 16 hexadecimal
digits). Their hex lengths (32, 40, 64, 16) differ, so a list may mix them; ``algorithm=`` (the
CLI's ``--algorithm``) insists on one. Perceptual hashes are matched by Hamming distance in the
report (:mod:`aima.report.hashsets`), never at ingest.

Four formats, picked by ``--format`` or recognised from the file's first bytes (``auto``):

``text``
    One hash per line (md5, sha1, sha256 or phash, told apart by length; mixed lists are fine), with
    ``#`` comment lines and blank lines allowed. Anything after the hash and a space is ignored,
    so the output of ``md5sum``/``sha1sum``/``sha256sum`` reads as it is.
``csv``
    A CSV file with a header; the hash columns are those named ``sha256``, ``sha1``, ``md5``,
    ``phash`` or ``hash`` (case and dashes ignored: ``SHA-1`` is ``sha1``). A ``hash`` column may
    mix lengths (or hold the one ``algorithm=`` names). Empty cells are skipped.
``nsrl``
    The NSRL RDS text export (``NSRLFile.txt``: a CSV whose quoted header starts with
    ``"SHA-1","MD5","CRC32","FileName",...``; an ``SHA-256`` column is read too where present).
    Each row gives one sha1 and one md5 entry. The RDSv3 SQLite databases are not read: export
    them to this text form with NIST's tools first.
``vic``
    Project VIC / CAID JSON (the VICS OData data model, versions 1.x and 2.0). Media records are
    read wherever the published exports put them: ``{"value": [{"Media": [...]}]}`` (a case,
    ``#Cases``), ``{"value": [...]}`` with the media records directly under ``value`` (a hash
    set, ``#Media``), or a top-level ``"Media"`` list. Each record's ``MD5``, ``SHA1`` and, where
    present, ``SHA256`` become entries; ``Category`` can select records (``vic_categories``).
    The JSON is parsed incrementally (ijson), never held whole. The only perceptual hash VICS
    records carry is ``PhotoDNA``, a proprietary hash AIMA cannot compute: it is not read.

A malformed entry raises :class:`HashListError` naming where it is (the line, or the media record
of a JSON file): the caller imports nothing of the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple, TextIO

from aima.errors import AimaError

FORMATS = ("text", "csv", "nsrl", "vic")

#: The perceptual hash algorithm: a 64-bit imagehash pHash as 16 hex digits.
PHASH = "phash"
#: Hex length -> algorithm.
ALGORITHM_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 16: PHASH}
ALGORITHMS = tuple(ALGORITHM_BY_LENGTH.values())
#: The algorithms matched exactly at ingest (file hashes).
EXACT_ALGORITHMS = ("md5", "sha1", "sha256")

#: Normalised CSV column name -> the algorithm it holds (None: any, by length).
HASH_COLUMNS = {"sha256": "sha256", "sha1": "sha1", "md5": "md5", PHASH: PHASH, "hash": None}


class Entry(NamedTuple):
    algorithm: str  # md5 | sha1 | sha256 | phash
    hash: str  # lowercase hex


class HashListError(AimaError):
    """A hash list that cannot be imported; the message says where and what."""


def parse_hash(text: str, algorithm: str | None, where: str) -> Entry:
    """``text`` as an entry: lowercase hex of the algorithm's length (any known length when
    ``algorithm`` is None); otherwise HashListError("<where>: ...")."""
    value = text.strip().lower()
    found = ALGORITHM_BY_LENGTH.get(len(value))
    if found is not None and not _is_hex(value):
        found = None
    if found is None or (algorithm is not None and found != algorithm):
        expected = algorithm or "sha256, sha1, md5 or phash"
        raise HashListError(f"{where}: {_shown(text)} is not a {expected} hash")
    return Entry(found, value)


def _is_hex(value: str) -> bool:
    try:
        # C speed; fromhex skips whitespace between bytes, which the length check refuses
        return 2 * len(bytes.fromhex(value)) == len(value)
    except ValueError:
        return False


def _shown(text: str, limit: int = 80) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def detect_format(head: bytes) -> str:
    """The format of a hash list from its first bytes (a few KB are plenty)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")):
        return "vic"
    first_line = text.split("\n", 1)[0].strip()
    names = [_column(name) for name in next(csv.reader([first_line]), [])]
    if names[:2] == ["sha1", "md5"] and '"' in first_line:
        return "nsrl"
    if any(name in HASH_COLUMNS for name in names):
        return "csv"
    return "text"


def _column(name: str) -> str:
    """A CSV header as a column key: lowercase, without quotes, dashes, underscores or spaces."""
    return re.sub(r"[\s_\-\"']", "", name).lower()


# --- text ---------------------------------------------------------------------------------------


def read_text(lines: Iterable[str], algorithm: str | None = None) -> Iterator[Entry]:
    """One hash per line; ``#`` comments and blank lines skipped; text after the hash ignored.
    ``algorithm``: every hash must be of it (None: any, by length)."""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        yield parse_hash(stripped.split(None, 1)[0], algorithm, f"line {number}")


# --- CSV and NSRL -------------------------------------------------------------------------------


def read_csv(stream: TextIO, *, nsrl: bool = False,
             algorithm: str | None = None) -> Iterator[Entry]:
    """The hash columns of a CSV file with a header (see the module docstring); ``algorithm``
    is what a ``hash`` column must hold (None: any, by length)."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    columns = [(index, HASH_COLUMNS[_column(name)] or algorithm)
               for index, name in enumerate(header) if _column(name) in HASH_COLUMNS]
    names = [_column(name) for name in header]
    if nsrl and names[:2] != ["sha1", "md5"]:
        raise HashListError(f"line 1: not an NSRL RDS header (\"SHA-1\",\"MD5\",...): "
                            f"{_shown(','.join(header))}")
    if not columns:
        raise HashListError(f"line 1: no hash column in the header {_shown(','.join(header))}; "
                            "expected a column named sha256, sha1, md5, phash or hash")
    for row in reader:
        where = f"line {reader.line_num}"
        if not row:
            continue
        if len(row) < len(header) and nsrl:
            raise HashListError(f"{where}: {len(row)} fields, the header has {len(header)}")
        for index, algorithm in columns:
            cell = row[index] if index < len(row) else ""
            if cell.strip():
                yield parse_hash(cell, algorithm, where)


# --- Project VIC / CAID JSON ----------------------------------------------------------------------

#: Where media records sit in the published VICS exports (ijson prefixes).
VIC_RECORDS = ("value.item", "value.item.Media.item", "Media.item")
VIC_HASH_FIELDS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}


def read_vic(stream: BinaryIO, *, categories: set[int] | None = None) -> Iterator[Entry]:
    """MD5, SHA1 (and SHA256) of each VICS media record, optionally only those whose
    ``Category`` is in ``categories``."""
    import ijson

    open_records: dict[str, dict] = {}
    number = 0
    try:
        for prefix, event, value in ijson.parse(stream):
            if event == "start_map" and prefix in VIC_RECORDS:
                open_records[prefix] = {}
            elif event == "end_map" and prefix in VIC_RECORDS:
                fields = open_records.pop(prefix)
                if not any(key in fields for key in VIC_HASH_FIELDS):
                    continue  # a case record (its media come as records of their own)
                number += 1
                yield from _vic_record(fields, number, categories)
            elif event in ("string", "number", "null"):
                parent, _, key = prefix.rpartition(".")
                if parent in open_records:
                    open_records[parent][key.lower()] = value
    except ijson.JSONError as exc:
        raise HashListError(f"not valid JSON after media record {number}: {exc}") from None
    if number == 0:
        raise HashListError("no media records with MD5, SHA1 or SHA256 found: expected VICS "
                            "JSON ({\"value\": [{\"Media\": [...]}]} or {\"value\": [...]})")


def _vic_record(fields: dict, number: int, categories: set[int] | None) -> Iterator[Entry]:
    where = f"media record {number}"
    if categories is not None:
        category = fields.get("category")
        try:
            category = int(category) if category is not None else None
        except (TypeError, ValueError):
            raise HashListError(f"{where}: Category {category!r} is not a number") from None
        if category not in categories:
            return
    for key, algorithm in VIC_HASH_FIELDS.items():
        value = fields.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str):
            raise HashListError(f"{where}: {key.upper()} {value!r} is not a {algorithm} hash")
        yield parse_hash(value, algorithm, f"{where} ({key.upper()})")
