"""The ``aima`` command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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


class _ListByDefault(typer.core.TyperGroup):
    """``aima persons CASE`` is ``aima persons list CASE``; the other words are commands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


persons_app = typer.Typer(
    cls=_ListByDefault, no_args_is_help=True,
    help="Case persons and a reviewer's corrections: aima persons CASE lists them; merge, split, "
    "not-same and rename are kept as edits (audit-logged) that survive reruns. A person is "
    "named by its key (person-3), its number, its label or its id.")
app.add_typer(persons_app, name="persons")

console = Console()
err_console = Console(stderr=True)


@app.command()
def version() -> None:
    """Print AIMA's version."""
    console.print(f"aima {__version__}")


@app.command()
def stages() -> None:
    """List the pipeline's stages in the order they run, with what each applies to and needs."""
    from aima.stages import registry

    table = Table(title="stages of analyze-media, in order", title_justify="left")
    for column in ("stage", "scope", "applies to", "needs", "device", "model", "version", "does"):
        table.add_column(column, overflow="fold", no_wrap=column == "stage")
    for stage in registry:
        table.add_row(stage.name, stage.scope,
                      "case" if stage.scope == "case" else ", ".join(sorted(stage.media_types)),
                      ", ".join(stage.needs) or "-", stage.device, stage.model or "-",
                      stage.version, stage.description)
    console.print(table)


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


def _person_edit(case: str, action, *args, **kwargs):
    """Run one correction from aima.persons_edits on the case; its error is one clear line."""
    from aima.persons_edits import PersonEditError
    from aima.storage import open_stores
    from aima.storage.cases import get_case

    settings = load_settings()
    with open_stores(settings) as stores:
        the_case = get_case(stores.metadata, case)
        try:
            return action(stores, str(the_case.id), *args, actor=settings.actor, **kwargs)
        except PersonEditError as exc:
            err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


@persons_app.command("list")
def persons_list(case: Annotated[str, typer.Argument(help="Case name or id.")]) -> None:
    """The case's persons (faces, then voices) with how often and in how many files they appear."""
    from aima.persons_edits import list_persons
    from aima.storage import open_stores
    from aima.storage.cases import get_case

    with open_stores(load_settings()) as stores:
        the_case = get_case(stores.metadata, case)
        rows = list_persons(stores, str(the_case.id))
    table = Table(title=f"{len(rows)} persons in case {the_case.name}", title_justify="left")
    for column in ("key", "label", "by", "appearances", "files", "id"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["key"], row["label"], row["modality"], str(row["appearances"]),
                      str(row["media"]), row["id"])
    console.print(table)


@persons_app.command("merge")
def persons_merge(case: Annotated[str, typer.Argument(help="Case name or id.")],
                  a: Annotated[str, typer.Argument(help="The person that stays.")],
                  b: Annotated[str, typer.Argument(help="The same person, merged into A.")]) -> None:
    """B is the same person as A: B's faces join A."""
    from aima.persons_edits import merge

    person = _person_edit(case, merge, a, b)
    console.print(f"merged {b} into {person['label']} ({person['key']})")


@persons_app.command("split")
def persons_split(
    case: Annotated[str, typer.Argument(help="Case name or id.")],
    a: Annotated[str, typer.Argument(help="The person to split.")],
    faces: Annotated[list[str], typer.Option("--faces", help="Face evidence ids (face:...) that "
                                             "are someone else; repeat the option.")],
) -> None:
    """Some faces of A are someone else: they become a new person."""
    from aima.persons_edits import split

    person = _person_edit(case, split, a, faces)
    console.print(f"split {len(faces)} faces off {a} into {person['label']} ({person['key']})")


@persons_app.command("not-same")
def persons_not_same(case: Annotated[str, typer.Argument(help="Case name or id.")],
                     a: Annotated[str, typer.Argument(help="A person.")],
                     b: Annotated[str, typer.Argument(help="Another person.")]) -> None:
    """A and B are different persons: no later clustering puts their faces together."""
    from aima.persons_edits import not_same

    _person_edit(case, not_same, a, b)
    console.print(f"{a} and {b} are kept apart")


@persons_app.command("rename")
def persons_rename(case: Annotated[str, typer.Argument(help="Case name or id.")],
                   a: Annotated[str, typer.Argument(help="The person.")],
                   label: Annotated[str, typer.Argument(help="The new label, e.g. 'man in red'. "
                                                        "Describe, never identify.")]) -> None:
    """Give a person a label of the reviewer's choosing (within this case only)."""
    from aima.persons_edits import rename

    person = _person_edit(case, rename, a, label)
    console.print(f"{person['key']} is now labelled {person['label']!r}")


@persons_app.command("link")
def persons_link(case: Annotated[str, typer.Argument(help="Case name or id.")],
                 speaker: Annotated[str, typer.Argument(help="The case speaker, e.g. speaker-2.")],
                 person: Annotated[str, typer.Argument(help="The face person, e.g. person-3.")]
                 ) -> None:
    """SPEAKER is the voice of PERSON: PERSON's dossier gets what SPEAKER said."""
    from aima import person_links

    link = _person_edit(case, person_links.accept, speaker, person)
    console.print(f"{link['speaker']} is now linked to {link['person_label']} ({link['status']})")


@persons_app.command("unlink")
def persons_unlink(case: Annotated[str, typer.Argument(help="Case name or id.")],
                   speaker: Annotated[str, typer.Argument(help="The case speaker.")],
                   person: Annotated[str, typer.Argument(help="The face person.")]) -> None:
    """Reject the link of SPEAKER to PERSON: it is no longer proposed or used."""
    from aima import person_links

    link = _person_edit(case, person_links.reject, speaker, person)
    console.print(f"{link['speaker']} and {link['person_label']}: {link['status']}")


@persons_app.command("links")
def persons_links(case: Annotated[str, typer.Argument(help="Case name or id.")]) -> None:
    """Voice-face links: proposed (one face alone on screen while a speaker talks), accepted, rejected."""
    from aima import person_links
    from aima.storage import open_stores
    from aima.storage.cases import get_case

    with open_stores(load_settings()) as stores:
        the_case = get_case(stores.metadata, case)
        rows = person_links.links(stores, str(the_case.id))
    table = Table(title=f"{len(rows)} voice-face links in case {the_case.name}",
                  title_justify="left")
    for column in ("speaker", "person", "status", "together", "score", "evidence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["speaker"], row.get("person_label") or row["person"], row["status"],
                      str(row["co_occurrences"]), f"{row['score']:.2f}",
                      " ".join(row["evidence"][:4]) + (" ..." if len(row["evidence"]) > 4 else ""))
    console.print(table)


STATUS_STYLE = {"done": "green", "failed": "red", "rejected": "red", "duplicate": "yellow"}


def _prefect_defaults() -> None:
    """Offline-friendly defaults for Prefect's temporary local server (each can be overridden)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _status_table(rows: list[dict], title: str) -> Table:
    """Files with their status and reason; a ``triage`` column where files match a hash set or
    are near-duplicates of each other."""
    from aima.report.triage import stack_label

    def triage(row: dict) -> str:
        known = [f"{m['set']} ({m['category']})" for m in row.get("hash_matches") or []]
        return "; ".join(filter(None, [stack_label(row), *known]))

    notes = [triage(row) for row in rows]
    table = Table(title=title, title_justify="left")
    for column in ("file", "type", "status", "reason") + (("triage",) if any(notes) else ()):
        table.add_column(column, overflow="fold")
    for row, note in zip(rows, notes):
        style = STATUS_STYLE.get(row["status"], "")
        cells = [row["name"], row["type"] or "-", f"[{style}]{row['status']}[/]" if style
                 else row["status"], row["error"] or row.get("notes") or ""]
        table.add_row(*cells, *([note] if any(notes) else []))
    return table


@app.command()
def analyze(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or s3://bucket/prefix.")],
    case: Annotated[str, typer.Option("--case", help="Case name (created if new).")],
    reanalyse: Annotated[
        bool, typer.Option("--reanalyse", help="Recompute stages already stored for these files.")
    ] = False,
    context: Annotated[
        str | None,
        typer.Option("--context", help="What the case is about, in your words; kept on the case "
                     "and added to the vision and fusion prompts."),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Model profile: embedded (CPU, bundled weights) or gpu; "
                     "default AIMA_MODEL_PROFILE."),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option("--budget", help="Most this run may spend on GPU work (USD); default "
                     "AIMA_BUDGET_USD. Only used with a GPU pool (AIMA_GPU_POOL)."),
    ] = None,
    auto_approve: Annotated[
        float | None,
        typer.Option("--auto-approve", help="GPU work estimated at or below this (USD) starts "
                     "without asking; default AIMA_AUTO_APPROVE_USD."),
    ] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the GPU work up front (within the budget) "
                           "instead of waiting for approval in the Prefect UI.")
    ] = False,
) -> None:
    """Analyse files into a case with the analyze-media Prefect flow, then print their status."""
    from aima.tasks import runtime

    if profile not in (None, "embedded", "gpu"):
        raise typer.BadParameter("expected embedded or gpu", param_hint="--profile")
    # Bad settings and unreachable stores fail here, before Prefect starts; the flow run in this
    # process reuses the opened stores.
    runtime.configure(model_profile=profile)
    settings = runtime.stores().settings
    _prefect_defaults()
    from aima.flows.analyze import analyze_media

    result = analyze_media(case=case, sources=paths, reanalyse=reanalyse, context=context,
                           model_profile=profile, budget_usd=budget,
                           auto_approve_usd=auto_approve, approve=approve)
    console.print(f"case [bold]{case}[/] id {result['case_id']}")
    console.print(_status_table(result["media"], f"{len(result['media'])} files"))
    for kind in ("json", "html"):
        key = result["exports"].get(kind)
        if key is None:
            continue
        if not settings.objects_url.startswith("s3://"):
            location = str(Path(settings.objects_url).resolve() / key)
        else:
            location = f"{settings.objects_url.rstrip('/')}/{key}"
        console.print(f"report ({kind}, version {result['report_version']}): {location}",
                      soft_wrap=True)
    console.print(f"(or: aima report {case} --format json|html|pdf|csv --out PATH)")


@app.command()
def status(case: Annotated[str, typer.Argument(help="Case name or id.")]) -> None:
    """Print the per-file status table of a case."""
    from aima.report import media_rows
    from aima.report.triage import annotate_rows
    from aima.report.triage import section as triage_section
    from aima.storage import open_stores
    from aima.storage.cases import get_case

    with open_stores(load_settings()) as stores:
        the_case = get_case(stores.metadata, case)
        rows = media_rows(stores, the_case)
        annotate_rows(rows, triage_section(stores, str(the_case.id)))
    console.print(f"case [bold]{the_case.name}[/] id {the_case.id}")
    console.print(_status_table(rows, f"{len(rows)} files"))


REPORT_FORMATS = ("json", "html", "pdf", "csv", "geojson", "srt", "vtt")
#: Formats that write one file per media item or several tables: --out names a directory.
DIRECTORY_FORMATS = ("csv", "srt", "vtt")


@app.command()
def report(
    case: Annotated[str, typer.Argument(help="Case name or id.")],
    format: Annotated[
        str, typer.Option("--format", help="json (the case report), html (self-contained, for "
                          "reading), pdf, csv (timeline, persons and transcript tables), or "
                          "geojson (where the files were made, from EXIF/QuickTime GPS), or srt / vtt (subtitles).")
    ] = "json",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="json/html/pdf/geojson: the file to write (json: default stdout). "
                     "csv/srt/vtt: a directory (csv: three tables; srt/vtt: one file per "
                     "transcribed media item)."),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", help="A saved report version (each analysis run saves one); "
                     "default: the report built from what the stores hold now."),
    ] = None,
    reveal_images: Annotated[
        bool,
        typer.Option("--reveal-images", help="html/pdf: show pictures unblurred and in colour "
                     "(default: blurred and greyscale until clicked, to limit exposure)."),
    ] = False,
) -> None:
    """Write a case's report in one format. Audit-logged as an export."""
    from aima.report import build_report, object_reader
    from aima.report import versions as report_versions
    from aima.report.exports import export
    from aima.report.subtitles import write_subtitles
    from aima.storage import audit, open_stores
    from aima.storage.cases import get_case

    if format not in REPORT_FORMATS:
        raise typer.BadParameter(f"unsupported format {format!r}; supported: "
                                 + ", ".join(REPORT_FORMATS), param_hint="--format")
    if format != "json" and out is None:
        what = "DIRECTORY" if format in DIRECTORY_FORMATS else "FILE"
        raise typer.BadParameter(f"--format {format} needs --out {what}", param_hint="--out")
    if version is not None and format in ("srt", "vtt"):
        raise typer.BadParameter("subtitles are made from the current transcripts; drop "
                                 "--version", param_hint="--version")
    settings = load_settings()
    with open_stores(settings) as stores:
        the_case = get_case(stores.metadata, case)
        case_id = str(the_case.id)
        text = None
        if format in ("srt", "vtt"):
            written = write_subtitles(stores, the_case, format, out)
        else:
            document = (report_versions.load(stores, case_id, version) if version is not None
                        else build_report(stores, the_case))
            if format == "json":
                text = json.dumps(document, indent=2, ensure_ascii=False)
                if out is not None:
                    out.write_text(text + "\n")
                written = [str(out) if out else "-"]
            else:
                written = [str(path) for path in export(
                    document, format, out, images=object_reader(stores),
                    reveal_images=reveal_images)]
        audit.record(stores.metadata, actor=settings.actor, action="case.export",
                     case_id=the_case.id,
                     details={"format": format, "files": written, "version": version,
                              "reveal_images": reveal_images})
    if text is not None and out is None:
        sys.stdout.write(text + "\n")
    elif format in DIRECTORY_FORMATS:
        err_console.print(f"wrote {len(written)} {format} files to {out}")
    else:
        err_console.print(f"wrote {out}")


from aima.hashsets.cli import hashsets_app  # noqa: E402 - mounted after the other commands

app.add_typer(hashsets_app, name="hashsets")

from aima.gpu_providers.cli import gpu_app  # noqa: E402 - mounted after the other commands

app.add_typer(gpu_app, name="gpu")

from aima.serve import serve  # noqa: E402 - `aima serve`: options and logic in aima/serve.py

app.command()(serve)


def main() -> None:
    """Entry point: one clear line instead of a traceback for errors a user can fix."""
    try:
        app()
    except AimaError as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
