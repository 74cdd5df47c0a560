"""Media with known facts for the report's computed parts: who is on screen while who speaks,
where the keyframes leave gaps, and when photos were taken.

- :func:`talking_video`: faces from :mod:`tests.vision.facegen` on screen while espeak-ng voices
  (:mod:`tests.speech.speechgen`) say known sentences; returns the speech turns.
- :func:`dated_photo`: a photo with faces whose EXIF ``DateTimeOriginal`` Pillow writes.
- :func:`silent_cut_video`: a video without sound whose scene cuts (so keyframes) are known.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.mediagen import ffmpeg, make_cut_video
from tests.speech import speechgen
from tests.speech.speechgen import RATE, Turn
from tests.vision import facegen

EXIF_IFD, DATETIME_ORIGINAL = 0x8769, 0x9003


def talking_video(path: Path, scenes: list[tuple[str, list]], lines: list[tuple[str, str]], *,
                  gap_s: float = 1.2, lead_s: float = 0.4) -> list[Turn]:
    """An MP4 whose picture is ``scenes`` (facegen's (background, faces) segments, equally long)
    and whose sound is ``lines`` ((espeak-ng voice, text)) spoken in turn with ``gap_s`` pauses.
    The picture lasts as long as the speech. Returns the speech turns (file times)."""
    samples, turns = speechgen.dialogue(lines, gap_s=gap_s, lead_s=lead_s)
    seconds = len(samples) / RATE
    wav = speechgen.write(path.with_suffix(".speech.wav"), samples)
    picture = path.with_suffix(".picture.mp4")
    facegen.write_video(picture, scenes, seconds=round(seconds / len(scenes), 3), size=(480, 270))
    ffmpeg("-i", picture, "-i", wav, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
           "-shortest", path)
    wav.unlink()
    picture.unlink()
    return turns


def dated_photo(path: Path, faces: list, taken: str | None, **options) -> Path:
    """facegen's photo of ``faces`` as a JPEG with EXIF DateTimeOriginal ``taken``
    (``YYYY:MM:DD HH:MM:SS``), or without EXIF when ``taken`` is None."""
    picture, _ = facegen.compose(faces, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken
    picture.save(path, "JPEG", quality=90, exif=exif)
    return path


def silent_cut_video(path: Path, scene_seconds: list[float]) -> list[float]:
    """A video without sound of distinct stills, one per scene; returns the cut times."""
    return make_cut_video(path, scene_seconds, size=(160, 90), noise=4)
