"""Real media for the media tests, made once per test session (a few seconds)."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mediagen import (
    make_audio_files,
    make_bad_corpus,
    make_garbled_copy,
    make_cut_video,
    make_hostile_usable,
    make_images,
    make_rotated_video,
    make_speech_video,
    make_videos,
)

#: scene lengths of the cut video; the 4.4 s scene is longer than the tests' 3 s keyframe gap
CUT_SCENES = [2.0, 3.0, 1.6, 4.4, 2.4]


@dataclass
class MediaSet:
    """Paths of the generated files, and what is known about them."""

    images: dict[str, Path]
    audio: dict[str, Path]
    videos: dict[str, Path]
    bad_dir: Path
    bad: dict[str, str]
    usable_dir: Path
    usable: dict[str, str]
    cut_video: Path
    cuts: list[float]
    rotated_video: Path
    speech_video: Path
    broken_audio_video: Path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaSet:
    root = tmp_path_factory.mktemp("media")
    videos = make_videos(root / "video")
    cut_video = root / "cuts.mp4"
    return MediaSet(
        images=make_images(root / "images"),
        audio=make_audio_files(root / "audio"),
        videos=videos,
        bad_dir=root / "bad",
        bad=make_bad_corpus(root / "bad"),
        usable_dir=root / "usable",
        usable=make_hostile_usable(root / "usable"),
        cut_video=cut_video,
        cuts=make_cut_video(cut_video, CUT_SCENES),
        rotated_video=make_rotated_video(root / "rotated.mp4", rotation=90),
        speech_video=make_speech_video(root / "speech.mp4"),
        broken_audio_video=make_garbled_copy(root / "broken_audio.mp4", videos["mp4"]),
    )
