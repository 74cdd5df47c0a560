"""``aima hashsets import|list|remove``: the known-file hash sets, shared by every case.

Mounted in :mod:`aima.cli` as ``app.add_typer(hashsets_app, name="hashsets")``. Hash sets live in
the metadata store only, so these commands open that store alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn,
)
from rich.table import Table

from aima.errors import AimaError
from aima.settings import load_settings

hashsets_app = typer.Typer(
    no_args_is_help=True,
    help="Known-file hash sets (md5, sha1, sha256, and phash perceptual hashes of pictures), "
    "shared by every case: files in a known-benign set (by file hash) skip the analysis stages "
    "(AIMA_HASHSETS_SKIP_KNOWN_BENIGN), every match is listed in the report; pictures within "
    "AIMA_NEAR_DUPLICATE_MAX_DISTANCE bits of a phash entry are listed with their distance. "
    "Imports and removals are audit-logged.",
)

console = Console()
err_console = Console(stderr=True)


@contextmanager
def _metadata() -> Iterator[tuple]:
    """(settings, metadata database); an AimaError becomes one line and exit status 2."""
    from aima.storage import open_metadata

    try:
        settings = load_settings()
        database = open_metadata(settings)
        try:
            yield settings, database
        finally:
            database.dispose()
    except AimaError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2) from None


@hashsets_app.command("import")
def import_command(
    name: Annotated[str, typer.Argument(help="A name for the set, e.g. nsrl-2026.09.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="The hash list.")],
    category: Annotated[str, typer.Option(
        "--category", help="known-benign (skips the analysis stages), known-relevant, or any "
        "lowercase word of yours (listed in the report).")],
    format: Annotated[str, typer.Option(
        "--format", help="auto (from the file's first bytes), text (one hash per line, # "
        "comments; md5sum-style lines too), csv (a column named sha256, sha1, md5, phash or "
        "hash), "
        "nsrl (NSRLFile.txt of the NSRL RDS), vic (Project VIC / CAID VICS JSON).")] = "auto",
    vic_category: Annotated[list[int] | None, typer.Option(
        "--vic-category", help="vic: import only media records of this VICS Category (repeat "
        "the option for several); default: all.")] = None,
    algorithm: Annotated[str | None, typer.Option(
        "--algorithm", help="text and csv: every hash (of a csv 'hash' column) must be of this "
        "algorithm: md5, sha1, sha256 or phash (a 64-bit pHash as imagehash writes it, 16 hex "
        "digits); default: told apart by length.")] = None,
) -> None:
    """Import a hash list as a new set: all of it, or nothing when a line is malformed."""
    from aima.hashsets.store import import_file

    with _metadata() as (settings, database), _progress(file) as advance:
        info = import_file(database, name, file, category=category, format=format,
                           actor=settings.actor, on_bytes=advance,
                           vic_categories=set(vic_category) if vic_category else None,
                           algorithm=algorithm)
    console.print(f"imported hash set [bold]{escape(info.name)}[/] ({escape(info.category)}): "
                  f"{info.entries} hashes from {escape(info.source_name or '')} ({info.format})")


@contextmanager
def _progress(file: Path):
    """A progress bar over the bytes of ``file`` on stderr (a terminal only); yields the
    ``on_bytes`` callback."""
    progress = Progress(TextColumn("reading {task.description}"), BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err_console,
                        transient=True, disable=not err_console.is_terminal)
    task = progress.add_task(escape(file.name), total=file.stat().st_size)
    with progress:
        yield lambda n: progress.advance(task, n)


@hashsets_app.command("list")
def list_command() -> None:
    """The hash sets: name, category, hashes, when imported and from which file."""
    from aima.hashsets.store import list_sets

    with _metadata() as (_, database):
        sets = list_sets(database)
    table = Table(title=f"{len(sets)} hash sets", title_justify="left")
    for column in ("name", "category", "hashes", "imported (UTC)", "by", "source file", "format"):
        table.add_column(column, overflow="fold",
                         no_wrap=column in ("category", "hashes", "imported (UTC)"),
                         justify="right" if column == "hashes" else "left")
    for info in sets:
        table.add_row(escape(info.name), escape(info.category), str(info.entries),
                      info.imported_at.strftime("%Y-%m-%d %H:%M"), escape(info.imported_by),
                      escape(info.source_name or "-"), info.format)
    console.print(table)


@hashsets_app.command("remove")
def remove_command(name: Annotated[str, typer.Argument(help="The set's name.")]) -> None:
    """Delete a hash set. Matches recorded on media stay until their case is analysed again."""
    from aima.hashsets.store import remove

    with _metadata() as (settings, database):
        info = remove(database, name, actor=settings.actor)
    console.print(f"removed hash set [bold]{escape(info.name)}[/] ({info.entries} hashes)")
