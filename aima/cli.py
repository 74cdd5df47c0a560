"""The ``aima`` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from aima import __version__
from aima.errors import AimaError
from aima.settings import load_settings

app = typer.Typer(
    name="aima",
    help="AIMA: analyse a case's images, videos and audio into one evidence-linked report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Metadata database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True)


@app.command()
def version() -> None:
    """Print AIMA's version."""
    console.print(f"aima {__version__}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the metadata database (also done automatically on first use)."""
    from aima.storage import open_metadata

    database = open_metadata(load_settings())
    try:
        console.print(f"metadata database at revision {database.current_revision()}")
    finally:
        database.dispose()


@app.command()
def purge(
    case: Annotated[str, typer.Argument(help="Case name or id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Remove a case from every store (metadata, documents, vectors, objects). Audit-logged."""
    from aima.storage import open_stores
    from aima.storage.purge import purge_case

    if not yes:
        err_console.print(f"refusing to purge {case!r} without --yes (this cannot be undone)")
        raise typer.Exit(2)
    settings = load_settings()
    with open_stores(settings) as stores:
        result = purge_case(stores, case, actor=settings.actor)
    if not result.found:
        console.print(f"nothing to purge: no case named or with id {case!r}")
        return
    console.print(
        f"purged case {result.case_name or case} ({result.case_id}): "
        f"{result.objects} objects, {result.vectors} vectors, {result.documents} documents"
    )


def main() -> None:
    """Entry point: one clear line instead of a traceback for errors a user can fix."""
    try:
        app()
    except AimaError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
