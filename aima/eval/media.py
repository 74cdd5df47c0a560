"""Small media makers for generated cases: speech, stills with faces and text, videos, bad files.

The test helpers take what they share with generated cases from here (an installed package may
not import tests/): tests/mediagen.py its command runner and distinct stills,
tests/speech/speechgen.py silence and the runner, tests/vision/facegen.py its faces and
backgrounds. Only ffmpeg, espeak-ng, Pillow, numpy and scikit-image's bundled photos are used;
audio is decoded and resampled by ffmpeg and written with the standard library, so no audio
library is needed.
"""

from __future__ import annotations

import colorsys
import random
import subprocess
import tempfile
import wave
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

RATE = 16_000
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
#: a square around the astronaut's face (Eileen Collins) in scikit-image's 512 x 512 photo
ASTRONAUT_FACE = (165, 60, 285, 180)


def run(*args: str | Path, stdout: bool = False) -> bytes:
    """Run a command; fail with the tail of its stderr when it fails."""
    try:
        done = subprocess.run([str(a) for a in args], capture_output=True)
    except FileNotFoundError:
        package = {"ffprobe": "ffmpeg"}.get(str(args[0]), args[0])
        raise RuntimeError(f"{args[0]} is not installed (Debian package {package})") from None
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()[-2000:]}")
    return done.stdout if stdout else b""


def ffmpeg(*args: str | Path, stdout: bool = False) -> bytes:
    return run("ffmpeg", "-nostdin", "-v", "error", "-y", *args, stdout=stdout)


# ----------------------------------------------------------------------------------------- audio


def read_audio(path: Path) -> np.ndarray:
    """Any audio file as 16 kHz mono float32 samples (decoded by ffmpeg)."""
    raw = ffmpeg("-i", path, "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-", stdout=True)
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16 kHz mono 16-bit PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return path


def trim(samples: np.ndarray, below_peak_db: float = 35.0) -> np.ndarray:
    """``samples`` from the first to the last 10 ms frame within ``below_peak_db`` of the peak
    (tests/speech/corpus.py), so that the times reported are where speech starts and ends."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() - below_peak_db)
    return samples[loud[0] * 160: (loud[-1] + 1) * 160]


def speak(text: str, voice: str, speed: int = 150) -> np.ndarray:
    """``text`` spoken by espeak-ng's ``voice`` (``en-us``, ``de+m3``), trimmed, 16 kHz."""
    with tempfile.TemporaryDirectory(prefix="aima-eval-") as scratch:
        raw = Path(scratch) / "speech.wav"
        run("espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text)
        return trim(read_audio(raw))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * RATE)), dtype=np.float32)


def join_turns(turns: list[tuple[np.ndarray, object]], gap_s: float = 0.5,
               lead_s: float = 0.5) -> tuple[np.ndarray, list[tuple[float, float, object]]]:
    """Speech parts said one after the other with ``gap_s`` pauses; the samples and each part's
    ``(start_s, end_s, tag)``."""
    parts, spans, position = [silence(lead_s)], [], lead_s
    for samples, tag in turns:
        duration = len(samples) / RATE
        spans.append((round(position, 3), round(position + duration, 3), tag))
        parts += [samples, silence(gap_s)]
        position += duration + gap_s
    parts.append(silence(lead_s - gap_s) if lead_s > gap_s else silence(0))
    return np.concatenate(parts), spans


def encode_audio(source: Path, target: Path) -> Path:
    """``source`` re-encoded into the format ``target``'s suffix names (flac, mp3, ogg, m4a,
    wav), with the target's name as a comment: two encodings of one sound are two files (the
    same bytes twice would be one media item of the case)."""
    codecs = {".flac": ("-c:a", "flac"), ".mp3": ("-c:a", "libmp3lame", "-b:a", "64k"),
              ".ogg": ("-c:a", "libopus", "-b:a", "32k"), ".m4a": ("-c:a", "aac", "-b:a", "64k"),
              ".wav": ("-c:a", "pcm_s16le")}
    ffmpeg("-i", source, *codecs[target.suffix], "-metadata", f"comment={target.name}", target)
    return target


# ---------------------------------------------------------------------------------------- images


@cache
def _bundled(name: str) -> Image.Image:
    try:
        from skimage import data
    except ImportError:
        raise RuntimeError("scikit-image is not installed: generated cases take their photos "
                           "and faces from it (pip install scikit-image)") from None
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def photo(name: str, size: tuple[int, int] | None = None) -> Image.Image:
    """A scikit-image photo as RGB, cropped to the aspect of ``size`` and scaled to it."""
    picture = _bundled(name).copy()
    return ImageOps.fit(picture, size, Image.Resampling.LANCZOS) if size else picture


@cache
def _lfw() -> np.ndarray:
    from skimage import data

    return data.lfw_subset()


def face(identity: str | int, side: int, variant: int = 0, *,
         brightness: tuple[float, float] = (0.85, 1.15), tilt_deg: float = 5.0) -> Image.Image:
    """A square face of ``side`` pixels: ``astronaut``, or face N of lfw_subset as ``lfw-N`` or
    N. A ``variant`` > 0 is another photo of the same person: odd ones mirrored, each with its
    brightness scaled by a factor within ``brightness`` and turned by up to ``tilt_deg`` degrees,
    drawn from a generator seeded with the identity as given and the variant."""
    if identity == "astronaut":
        picture = _bundled("astronaut").crop(ASTRONAUT_FACE)
    else:
        grey = (_lfw()[int(str(identity).removeprefix("lfw-"))] * 255).astype(np.uint8)
        picture = Image.fromarray(grey).convert("RGB")
    picture = picture.resize((side, side), Image.Resampling.BICUBIC)
    if variant:
        rng = random.Random(f"{identity}-{variant}")
        if variant % 2:
            picture = ImageOps.mirror(picture)
        picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(*brightness))
        picture = picture.rotate(rng.uniform(-tilt_deg, tilt_deg),
                                 resample=Image.Resampling.BICUBIC, fillcolor=(110, 110, 110))
    return picture


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    if (DEJAVU / name).is_file():
        return ImageFont.truetype(str(DEJAVU / name), size)
    return ImageFont.load_default(size)  # Pillow's bundled font (Aileron)


def draw_sign(image: Image.Image, text: str, xy: tuple[int, int], size: int = 28) -> tuple:
    """Dark letters on a light panel (a sign) with its top-left at ``xy``; the letters' box."""
    draw = ImageDraw.Draw(image)
    face_ = font(size, bold=True)
    left, top, right, bottom = draw.textbbox(xy, text, font=face_)
    pad = max(4, size // 3)
    draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(242, 238, 205))
    draw.text(xy, text, font=face_, fill=(25, 25, 30))
    return (left, top, right - left, bottom - top)


def text_width(text: str, size: int) -> int:
    return int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, font=font(size, True)))


def distinct_still(index: int, size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A still unlike its neighbours: a hue that moves by the golden ratio per index, with a few
    random shapes on it."""
    width, height = size
    rng = random.Random(seed * 100_003 + index)
    red, green, blue = colorsys.hsv_to_rgb((index * 0.618_034) % 1.0, 0.7, 0.35 + 0.5 * (index % 2))
    image = Image.new("RGB", size, (int(red * 255), int(green * 255), int(blue * 255)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(width // 8, width // 2)
        y1 = y0 + rng.randrange(height // 8, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return image


# ----------------------------------------------------------------------------------------- video


def scene_video(path: Path, stills: list[Image.Image], seconds: list[float], *, fps: int = 10,
                audio: Path | None = None, grain: int = 4) -> list[float]:
    """A video showing each still for its seconds (hard cuts), with light film grain, and the
    sound of ``audio`` when given (the video lasts as long as the scenes); the cut times."""
    work = Path(tempfile.mkdtemp(prefix=f".{path.stem}-", dir=path.parent))
    lines = []
    for index, (still, duration) in enumerate(zip(stills, seconds, strict=True)):
        still.save(work / f"{index:03d}.png")
        lines += [f"file '{index:03d}.png'", f"duration {duration}"]
    lines.append(f"file '{len(stills) - 1:03d}.png'")  # the concat demuxer needs the last twice
    (work / "list.txt").write_text("\n".join(lines) + "\n")
    total = sum(seconds)
    noise = f",noise=alls={grain}:allf=t" if grain else ""
    sound = ["-i", audio, "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "64k",
             "-af", "apad"] if audio else []
    ffmpeg("-f", "concat", "-safe", "0", "-i", work / "list.txt", *sound, "-t", f"{total:.3f}",
           "-vf", f"fps={fps},format=yuv420p{noise}", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "20", "-g", str(fps * 10), path)
    for file in work.iterdir():
        file.unlink()
    work.rmdir()
    cuts, elapsed = [], 0.0
    for duration in seconds[:-1]:
        elapsed += duration
        cuts.append(round(elapsed, 3))
    return cuts


def remux(source: Path, target: Path, tag: str) -> Path:
    """The same streams in a new file that differs only in its metadata (other bytes)."""
    ffmpeg("-i", source, "-map", "0", "-c", "copy", "-metadata", f"comment={tag}", target)
    return target


def duration_s(path: Path) -> float:
    """The duration ffprobe reports."""
    out = run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
              path, stdout=True)
    return round(float(out.decode().strip()), 3)
