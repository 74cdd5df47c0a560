"""A small real case for the export tests, analysed by the real stages on embedded stores.

Four files: a six-second video in which three faces appear over two scenes while two espeak-ng
voices talk, a photo of two of the same faces, a smaller re-encoded copy of that photo (a
near-duplicate), and a photo of a printed notice (text for OCR).
The stages that run are the embedded profile's real ones (preprocess, faces, link-persons,
transcribe, diarize, link-speakers, OCR) plus detect-restraints with a tiny random OWLv2 at
threshold 0, so that the report has restraint observations that ask for a human review (their
content is chance; the tests assert on the export of whatever the report says). ``describe`` has
no model configured and is skipped, as in the embedded default.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from aima.models.factory import load_model
from aima.pipeline.jobs import set_media_status
from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.settings import Settings
from aima.stages import registry
from aima.stages.ingest import ingest_file
from aima.storage import Stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import Case
from tests.mediagen import ffmpeg
from tests.speech import speechgen
from tests.vision import facegen, textgen
from tests.vision.tiny_owl import tiny_owl_dir

CASE_NAME = "Harbour <street> & café"  # markup and non-ASCII: escaped in HTML, kept in CSV
NOTICE = "NO ENTRY AFTER 10 PM"
LINES = [(speechgen.VOICE_A, "Open the door now and step back into the hallway."),
         (speechgen.VOICE_B, "I am not going in there, I told you that already."),
         (speechgen.VOICE_A, "Sit down on the bench and wait until I come back."),
         (speechgen.VOICE_B, "Please do not leave me here alone in the dark.")]


def write_media(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    silent = folder / "silent.mp4"
    facegen.write_video(silent, [("horse", [("astronaut", 120, (80, 60))]),
                                 ("grass", [(1, 110, (380, 120)), ("astronaut", 120, (80, 60))])],
                        seconds=3.0)
    samples, _ = speechgen.dialogue(LINES, gap_s=0.5, lead_s=0.3)
    audio = speechgen.write(folder / "talk.wav", samples)
    video = folder / "interview.mp4"
    ffmpeg("-i", silent, "-i", audio, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
           video)
    silent.unlink()
    audio.unlink()
    photo = folder / "both.jpg"
    facegen.write_photo(photo, [("astronaut", 130, (60, 80)), (1, 120, (400, 160))])
    with Image.open(photo) as picture:  # the same picture again, smaller and re-encoded
        picture.resize((picture.width * 3 // 4, picture.height * 3 // 4)).save(
            folder / "both-copy.jpg", quality=60)
    notice, _ = textgen.text_frame(textgen.plain((480, 200)), [(NOTICE, "sans", 30, "ink")])
    notice.save(folder / "notice.png")
    return {"video": video, "photo": photo, "copy": folder / "both-copy.jpg",
            "notice": folder / "notice.png"}


def analyse_case(stores: Stores, folder: Path) -> Case:
    """Ingest the files of :func:`write_media` into a new case and run every stage on them."""
    files = write_media(folder)
    case = get_or_create_case(stores.metadata, CASE_NAME)
    settings: Settings = stores.settings
    detector = load_model("detector", Settings(restraint_detector_model=str(tiny_owl_dir()),
                                               restraint_detector_threshold=0.0))
    # No narrative: the exports' tests cover a report whose narrative was not written (and
    # tests/fusion the written one); the packaged language model would add half a minute.
    loaded = {"faces": facegen.face_model(), "detector": detector,
              "llm": load_model("llm", Settings(llm_enabled=False))}

    def model(kind: str):
        if kind not in loaded:
            loaded[kind] = load_model(kind, settings)
        return loaded[kind]

    media_ids = []
    for path in files.values():
        outcome = ingest_file(stores, settings, str(case.id), SourceFile(uri=str(path),
                                                                        name=path.name))
        media_ids.append(outcome.media_id)
    for stage in registry:
        if stage.name == "ingest":
            continue
        if stage in registry.case_stages():
            run_case_stage(stores, stage, str(case.id), models=model)
        else:
            for media_id in media_ids:
                run_media_stage(stores, stage, media_id, models=model)
    for media_id in media_ids:  # as the flow does when a file's stages have run
        set_media_status(stores.metadata, media_id, "done")
    return case
