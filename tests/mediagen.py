"""Real, tiny media files for tests and benchmarks, made with ffmpeg, espeak-ng, sox and Pillow.

Every helper writes into a directory the caller owns and returns what a test needs to know about
the file it made (its path, the cut times of a scene video, the code a bad file must raise).
Files are a few seconds long at low resolution, so a whole set is made in a few seconds.
Commands are run, and distinct stills drawn, by :mod:`aima.eval.media`, which makes generated
evaluation cases.
"""

import os
import random
import shutil
import struct
import subprocess
from io import BytesIO
from pathlib import Path

import av
from PIL import Image

from aima.eval import media
from aima.eval.media import ffmpeg, run

#: the size limit under which every file of :func:`make_bad_corpus` but ``too_large.wav`` fits
BAD_CORPUS_MAX_BYTES = 200_000
SPEECH_TEXT = "The quick brown fox jumps over the lazy dog. Analysis starts now."
#: EXIF written into the orientation-6 JPEG of :func:`make_images`
EXIF_MAKE, EXIF_MODEL, EXIF_DATETIME = "AIMA Optics", "Testcam 6", "2024:05:06 07:08:09"
#: the sides of the decompression-bomb PNG of :func:`make_bad_corpus` (a 1-bit PNG of 48 kB)
BOMB_SIDE = 20_000
#: frames of the animated GIF of :func:`make_hostile_usable` (16x16, 100 frames a second)
MANY_FRAMES = 3000
#: colours of :func:`quadrant_image`: top-left, top-right, bottom-left, bottom-right
QUADRANTS = ((220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 240, 240))


# ---------------------------------------------------------------------------------------- images


def quadrant_image(width: int, height: int) -> Image.Image:
    """An RGB image of four flat colour quadrants, so that any rotation or flip shows."""
    image = Image.new("RGB", (width, height), QUADRANTS[0])
    half_w, half_h = width // 2, height // 2
    image.paste(QUADRANTS[1], (half_w, 0, width, half_h))
    image.paste(QUADRANTS[2], (0, half_h, half_w, height))
    image.paste(QUADRANTS[3], (half_w, half_h, width, height))
    return image


def make_images(directory: Path) -> dict[str, Path]:
    """JPEG, PNG, WEBP, TIFF, an animated GIF and a JPEG stored sideways with EXIF orientation 6.

    All are 480x360 quadrant images but the EXIF one, which stores 480x360 pixels that display as
    the 360x480 :func:`quadrant_image`.
    Keys: ``jpeg png webp tiff gif jpeg_exif6``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    image = quadrant_image(480, 360)
    paths = {fmt: directory / f"image.{fmt}" for fmt in ("jpeg", "png", "webp", "tiff", "gif")}
    image.save(paths["jpeg"], quality=90)
    image.convert("RGBA").save(paths["png"])
    image.save(paths["webp"], quality=80)
    image.save(paths["tiff"], compression="tiff_lzw")
    second = Image.new("RGB", image.size, (0, 0, 0))
    image.save(paths["gif"], save_all=True, append_images=[second], duration=200, loop=0)
    # A camera held upright stores its pixels turned 90 degrees counter-clockwise and writes
    # orientation 6 ("turn 90 degrees clockwise to display").
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = EXIF_MAKE
    exif[0x0110] = EXIF_MODEL
    exif.get_ifd(0x8769)[0x9003] = EXIF_DATETIME
    paths["jpeg_exif6"] = directory / "sideways.jpg"
    upright = quadrant_image(360, 480)
    upright.transpose(Image.Transpose.ROTATE_90).save(paths["jpeg_exif6"], exif=exif, quality=90)
    return paths


# ----------------------------------------------------------------------------------------- audio


def make_speech_wav(path: Path, text: str = SPEECH_TEXT, voice: str = "en") -> Path:
    """Speak ``text`` with espeak-ng into a 22.05 kHz mono WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run("espeak-ng", "-v", voice, "-s", "170", "-w", path, text)
    return path


def make_audio_files(directory: Path) -> dict[str, Path]:
    """The speech clip as WAV (44.1 kHz stereo), MP3, M4A (AAC), FLAC and Ogg Opus.

    Keys: ``wav mp3 m4a flac ogg``; all hold the same few seconds of speech.
    """
    directory.mkdir(parents=True, exist_ok=True)
    speech = make_speech_wav(directory / "speech_source.wav")
    paths = {fmt: directory / f"speech.{fmt}" for fmt in ("wav", "mp3", "m4a", "flac", "ogg")}
    run("sox", speech, "-r", "44100", "-c", "2", "-b", "16", paths["wav"])
    run("sox", speech, paths["flac"])
    ffmpeg("-i", speech, "-c:a", "libmp3lame", "-b:a", "48k", paths["mp3"])
    ffmpeg("-i", speech, "-c:a", "aac", "-b:a", "48k", paths["m4a"])
    ffmpeg("-i", speech, "-c:a", "libopus", "-b:a", "24k", paths["ogg"])
    return paths


def media_duration_s(path: Path) -> float:
    """The duration ffprobe reports for a file (an independent measure for tests)."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )
    return float(done.stdout.strip())


# ----------------------------------------------------------------------------------------- video

#: container -> ffmpeg codec arguments (video + audio)
VIDEO_CODECS = {
    "mp4": ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
    "mov": ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
    "mkv": ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libopus"),
    "avi": ("-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"),
    "webm": ("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"),
}


def make_video(path: Path, seconds: float = 2.0, size: str = "160x90", fps: int = 10,
               extra: tuple[str, ...] = ()) -> Path:
    """A test-pattern video with a 440 Hz tone, in the container that ``path``'s suffix names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(seconds), *VIDEO_CODECS[path.suffix.lstrip(".")], *extra, path,
    )
    return path


def make_videos(directory: Path) -> dict[str, Path]:
    """One short video per supported container. Keys: ``mp4 mov mkv avi webm``."""
    return {fmt: make_video(directory / f"video.{fmt}") for fmt in VIDEO_CODECS}


def make_rotated_video(path: Path, rotation: int = 90, seconds: float = 2.0) -> Path:
    """A 160x90 quadrant video whose display matrix turns it by ``rotation`` degrees
    counter-clockwise (as ffprobe reports it), so it displays as 90x160 for 90."""
    still = path.with_suffix(".still.png")
    quadrant_image(160, 90).save(still)
    plain = path.with_suffix(".plain.mp4")
    ffmpeg("-loop", "1", "-i", still, "-t", str(seconds), "-r", "10", "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-preset", "ultrafast", plain)
    ffmpeg("-i", plain, "-c", "copy", "-metadata:s:v:0", f"rotate={rotation}", path)
    still.unlink()
    plain.unlink()
    return path


def make_speech_video(path: Path, text: str = SPEECH_TEXT,
                      creation_time: str = "2024-03-02T10:20:30Z") -> Path:
    """An MP4 (H.264 + AAC) whose sound track is ``text`` spoken by espeak-ng, over a plain
    background; it lasts as long as the speech and carries ``creation_time``."""
    speech = make_speech_wav(path.with_suffix(".speech.wav"), text)
    ffmpeg("-f", "lavfi", "-i", "color=c=0x336699:size=160x90:rate=10", "-i", speech,
           "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-metadata", f"creation_time={creation_time}", path)
    speech.unlink()
    return path


def distinct_still(index: int, width: int, height: int, seed: int = 0) -> Image.Image:
    """A still unlike its neighbours (:func:`aima.eval.media.distinct_still`)."""
    return media.distinct_still(index, (width, height), seed)


def make_cut_video(path: Path, scene_seconds: list[float], size: tuple[int, int] = (320, 180),
                   fps: int = 25, noise: int = 8, seed: int = 0,
                   stills: list[Image.Image] | None = None) -> list[float]:
    """A video of stills, one per scene, with temporal grain of strength ``noise``; the stills
    are :func:`distinct_still` ones unless ``stills`` gives them (of ``size``).

    Returns the cut times in seconds (the start of every scene after the first). Scene lengths
    should be multiples of 1/fps so that cuts fall on frame boundaries.
    """
    work = path.parent / f".{path.stem}_stills"
    work.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, seconds in enumerate(scene_seconds):
        still = work / f"{index:04d}.png"
        (stills[index] if stills else distinct_still(index, *size, seed=seed)).save(still)
        lines += [f"file '{still.name}'", f"duration {seconds}"]
    lines.append(f"file '{still.name}'")  # the concat demuxer needs the last file once more
    (work / "list.txt").write_text("\n".join(lines) + "\n")
    grain = f",noise=alls={noise}:allf=t" if noise else ""
    ffmpeg("-f", "concat", "-safe", "0", "-i", work / "list.txt", "-t", str(sum(scene_seconds)),
           "-vf", f"fps={fps},format=yuv420p{grain}", "-c:v", "libx264", "-preset", "veryfast",
           "-g", str(fps * 10), path)
    shutil.rmtree(work)
    cuts, elapsed = [], 0.0
    for seconds in scene_seconds[:-1]:
        elapsed += seconds
        cuts.append(round(elapsed, 6))
    return cuts


def make_garbled_copy(path: Path, source: Path, kind: str = "audio", every: int = 1) -> Path:
    """Copy ``source``'s video and audio packets into ``path`` (a container of the same kind),
    the payload of every ``every``-th packet of the ``kind`` stream replaced by random bytes:
    the container is sound, that stream is not."""
    rng = random.Random(7)
    with av.open(str(source)) as reader, av.open(str(path), "w") as writer:
        streams = [s for s in reader.streams if s.type in ("video", "audio")]
        outputs = {s.index: writer.add_stream_from_template(s) for s in streams}
        seen = 0
        for packet in reader.demux(*streams):
            if packet.dts is None:
                continue  # the demuxer's end-of-stream marker
            target = outputs[packet.stream.index]
            if packet.stream.type == kind:
                seen += 1
            if packet.stream.type == kind and seen % every == 0:
                garbage = av.Packet(rng.randbytes(packet.size))
                garbage.pts, garbage.dts = packet.pts, packet.dts
                garbage.duration, garbage.time_base = packet.duration, packet.time_base
                packet = garbage
            packet.stream = target
            writer.mux(packet)
    return path


# ------------------------------------------------------------------------------------ bad files


def make_bad_corpus(directory: Path) -> dict[str, str]:
    """Every kind of file AIMA must refuse, made in the empty or new ``directory``; returns
    {file name: expected BadMedia code}.

    Check them with ``max_bytes=BAD_CORPUS_MAX_BYTES``. Names are relative to ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    def bad(name: str, code: str) -> Path:
        expected[name] = code
        return directory / name

    bad("empty.mp4", "empty_file").write_bytes(b"")
    bad("notes.mp4", "unsupported_type").write_text("Meeting notes\nAgenda: budget, hiring.\n" * 20)

    # A download cut in half: ffmpeg writes the MP4 index (moov) last, so it is lost.
    whole = make_video(directory / ".whole.mp4", seconds=4.0)
    _cut_in_half(whole, bad("truncated.mp4", "truncated"))
    # With the index first (faststart) and in Matroska the header survives and promises 4 s.
    whole = make_video(directory / ".whole_fs.mp4", seconds=4.0, extra=("-movflags", "+faststart"))
    _cut_in_half(whole, bad("truncated_faststart.mp4", "truncated"))
    whole = make_video(directory / ".whole.mkv", seconds=4.0)
    _cut_in_half(whole, bad("truncated.mkv", "truncated"))
    # Every video packet replaced by random bytes: the container opens, no frame decodes.
    make_garbled_copy(bad("garbled_video.mp4", "corrupt_video"), directory / ".whole.mp4", "video")

    # A JPEG whose header segments are overwritten: the signature is there, the header is garbage.
    jpeg = bytearray(_jpeg_bytes())
    jpeg[4:400] = bytes(random.Random(3).randrange(256) for _ in range(396))
    bad("bad_header.jpg", "corrupt_image").write_bytes(bytes(jpeg))

    run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", bad("no_frames.wav", "no_audio_frames"),
        "trim", "0", "0")
    speech = make_speech_wav(directory / ".speech.wav")
    ffmpeg("-i", speech, "-c:a", "aac", "-f", "mp4", bad("audio_only.mp4", "no_video_stream"))
    m4a = directory / ".speech.m4a"
    ffmpeg("-i", speech, "-c:a", "aac", m4a)
    make_garbled_copy(bad("corrupt_audio.m4a", "corrupt_audio"), m4a)
    srt = directory / ".subtitles.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nHello.\n")
    ffmpeg("-i", srt, bad("subtitles_only.mkv", "no_streams"))
    run("sox", "-n", "-r", "44100", "-c", "2", "-b", "16", bad("too_large.wav", "too_large"),
        "synth", "3", "sine", "440")
    os.symlink("missing-target.mp4", bad("dangling_link.mp4", "unreadable"))
    os.symlink("loop_b.mp4", bad("loop_a.mp4", "symlink_loop"))
    os.symlink("loop_a.mp4", bad("loop_b.mp4", "symlink_loop"))
    bad("bad\nname.jpg", "bad_name").write_bytes(_jpeg_bytes())

    # Hostile files: small files that declare enormous pictures or lie about their length.
    # A decompression bomb: 20000 x 20000 pixels of 1-bit white (a 48 kB file, 1.2 GB as RGB).
    Image.new("1", (BOMB_SIDE, BOMB_SIDE)).save(bad("bomb.png", "too_many_pixels"))
    small_gif = BytesIO()
    Image.new("P", (4, 4)).save(small_gif, format="GIF")
    # A GIF whose logical screen claims 65535 x 65535; one whose first frame claims it instead
    # (Pillow grows the canvas to hold the frame).
    bad("huge_screen.gif", "too_many_pixels").write_bytes(
        patch_gif_size(small_gif.getvalue(), screen=(65535, 65535)))
    bad("huge_frame.gif", "too_many_pixels").write_bytes(
        patch_gif_size(small_gif.getvalue(), frame=(65535, 65535)))
    bad("huge_header.jpg", "too_many_pixels").write_bytes(patch_jpeg_size(_jpeg_bytes(), 65535, 65535))
    # Raw video (no size of its own in the frames) whose AVI header declares 15000 x 15000 frames:
    # 675 MB a frame, within FFmpeg's own limit. And an AVI whose header declares 2e9 frames.
    raw = directory / ".raw.avi"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "1", "-c:v", "rawvideo",
           "-pix_fmt", "bgr24", raw)
    patch_avi(raw, bad("huge_frames.avi", "too_many_pixels"), size=(15000, 15000))
    short = make_video(directory / ".short.avi", seconds=1.0)
    patch_avi(short, bad("endless.avi", "truncated"), frames=2_000_000_000)

    for helper in directory.glob(".*"):
        helper.unlink()
    return expected


def make_hostile_usable(directory: Path) -> dict[str, str]:
    """Hostile-looking files that AIMA must accept, made in ``directory``; returns {file name:
    media type}. All fit :data:`BAD_CORPUS_MAX_BYTES`.

    ``many_frames.gif``: an animated GIF of :data:`MANY_FRAMES` frames (an image: its first frame
    is analysed). ``cut_short.gif``: a GIF of three frames cut off just after the header of its
    third (Pillow's ``n_frames`` raises ``IndexError`` on it). ``unfinished_header.wav``: a 2 s WAV whose header gives a data size of 0, as a
    recorder that never finished it leaves it; ``overlong_header.wav``: one whose data size is 50
    times what the file holds (a writer's placeholder, or a copy cut short). FFmpeg reads both to
    the end of the file, and all their samples are good.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=16x16:rate=100", "-frames:v", str(MANY_FRAMES),
           directory / "many_frames.gif")
    frames = [quadrant_image(48, 36), *(Image.new("RGB", (48, 36), (90 * n, 0, 0)) for n in (1, 2))]
    gif = BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    (directory / "cut_short.gif").write_bytes(gif.getvalue()[: gif_frame_offsets(gif.getvalue())[2] + 10])
    wav = directory / ".tone.wav"
    run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", wav, "synth", "2", "sine", "440")
    data = wav.read_bytes()
    at = data.index(b"data") + 4
    present = len(data) - at - 4
    for name, size in (("unfinished_header.wav", 0), ("overlong_header.wav", 50 * present)):
        (directory / name).write_bytes(data[:at] + struct.pack("<I", size) + data[at + 4 :])
    wav.unlink()
    return {"many_frames.gif": "image", "cut_short.gif": "image", "unfinished_header.wav": "audio",
            "overlong_header.wav": "audio"}


def make_resizing_video(path: Path) -> Path:
    """An MKV (H.264) whose first second is 160x90 and whose second second is 320x180: the
    stream declares 160x90, the decoder switches size at the second parameter set."""
    parts = []
    for size in ("160x90", "320x180"):
        parts.append(path.with_name(f".{path.stem}.{size}.ts"))
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10", "-t", "1",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", parts[-1])
    joined = path.with_name(f".{path.stem}.ts")
    joined.write_bytes(b"".join(part.read_bytes() for part in parts))
    ffmpeg("-i", joined, "-c", "copy", path)
    for helper in (*parts, joined):
        helper.unlink()
    return path


def patch_gif_size(gif: bytes, screen: tuple[int, int] | None = None,
                   frame: tuple[int, int] | None = None) -> bytes:
    """``gif`` with its logical screen size and/or its first frame's size overwritten."""
    data = bytearray(gif)
    if screen:
        struct.pack_into("<HH", data, 6, *screen)
    if frame:
        struct.pack_into("<HH", data, gif_frame_offsets(gif)[0] + 5, *frame)
    return bytes(data)


def gif_frame_offsets(gif: bytes) -> list[int]:
    """Where each frame's image descriptor (the ``,`` that starts it, then 9 bytes) lies in a GIF."""
    offsets = []
    at = 13 + (3 << ((gif[10] & 7) + 1) if gif[10] & 0x80 else 0)  # after the global colour table
    while at < len(gif) and gif[at] in (0x21, 0x2C):
        if gif[at] == 0x2C:  # descriptor, local colour table, LZW code size, then sub-blocks
            offsets.append(at)
            flags = gif[at + 9]
            at += 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        else:  # extension: introducer, label, then sub-blocks
            at += 2
        while gif[at]:
            at += gif[at] + 1
        at += 1
    return offsets


def patch_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with the size in its frame header (SOF) overwritten."""
    data = bytearray(jpeg)
    at = 2
    while data[at + 1] not in (0xC0, 0xC1, 0xC2):  # walk the marker segments up to the SOF
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def patch_avi(source: Path, target: Path, size: tuple[int, int] | None = None,
              frames: int | None = None) -> Path:
    """Copy an AVI, overwriting the frame size (main header and the first stream's
    BITMAPINFOHEADER) and/or the frame count (main header and the first stream's length)."""
    data = bytearray(source.read_bytes())
    main = data.index(b"avih") + 8
    stream = data.index(b"strh") + 8
    bitmap = data.index(b"strf") + 8
    if size:
        struct.pack_into("<II", data, main + 32, *size)
        struct.pack_into("<ii", data, bitmap + 4, *size)
    if frames:
        struct.pack_into("<I", data, main + 16, frames)
        struct.pack_into("<I", data, stream + 32, frames)
    target.write_bytes(bytes(data))
    return target


def _cut_in_half(source: Path, target: Path) -> None:
    """Write the first half of ``source``'s bytes to ``target``."""
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def _jpeg_bytes() -> bytes:
    """A small valid JPEG."""
    buffer = BytesIO()
    quadrant_image(64, 48).save(buffer, format="JPEG")
    return buffer.getvalue()

