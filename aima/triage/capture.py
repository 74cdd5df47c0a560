"""When and where a picture, a video or a recording was made, from the file's own metadata.

Capture time, first found wins, each labelled with its ``source``:

``exif``
    an image's EXIF ``DateTimeOriginal`` (Exif IFD 0x8769, tag 0x9003) with its
    ``OffsetTimeOriginal`` (0x9011) and ``SubSecTimeOriginal`` (0x9291): an exact moment;
``exif-no-offset``
    ``DateTimeOriginal`` without an offset: the camera's local clock time, zone unknown, so
    ``utc`` is ``None``;
``quicktime``
    a video's or recording's ``com.apple.quicktime.creationdate`` (local time with its offset,
    written by Apple devices), else the container's ``creation_time`` (the movie header's, UTC by
    the QuickTime specification, though some cameras write their local time there), else the video
    stream's; the QuickTime zero (1904-01-01) and the Unix zero mean "not set";
``file``
    the source file's modification time, a last resort: it changes whenever a file is copied
    without care. Only the stage that plans the work can see the source file
    (:func:`source_file_time`); the copy that a stage computes on is AIMA's own, whose time says
    nothing, so when the source is gone, or is on S3, the time is ``None`` with a note that the
    file time is unavailable.

Position: EXIF GPS (IFD 0x8825: latitude and longitude in degrees, minutes and seconds with their
N/S and E/W references, altitude with its above/below sea level reference), or a QuickTime
ISO 6709 string (``com.apple.quicktime.location.ISO6709``, or ``location`` as FFmpeg writes
``©xyz``), e.g. ``+48.8584+002.2945+035.000/``; ``source`` is ``exif`` or ``quicktime``.

Metadata is what the file says, not proof: it can be missing, wrong or edited. Corrupt metadata
never fails a file: what cannot be read is left out and said in ``warnings`` (Pillow's own
complaints about a mangled EXIF block included).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from aima.media.container import open_container
from aima.media.images import open_image

TimeSource = Literal["exif", "exif-no-offset", "quicktime", "file"]
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, SUBSEC_TIME_ORIGINAL = 0x9003, 0x9011, 0x9291
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON, GPS_ALT_REF, GPS_ALT = 1, 2, 3, 4, 5, 6
#: container metadata keys, in order of preference (compared without case)
QUICKTIME_TIME_KEYS = ("com.apple.quicktime.creationdate", "creation_time")
QUICKTIME_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")

_EXIF_TIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_ISO6709 = re.compile(r"([+-][\d.]+)([+-][\d.]+)([+-][\d.]+)?(?:CRS[^/]*)?/?")


class CaptureTime(BaseModel):
    """When the media was made, as recorded, and which metadata said so."""

    time: str | None = None  # ISO 8601 as recorded; with its offset when known
    utc: str | None = None  # the same moment in UTC; None when the offset is unknown
    source: TimeSource | None = None
    note: str | None = None  # why there is no time, or what to keep in mind about it


class Position(BaseModel):
    """Where the media was made (WGS 84 degrees, metres above sea level)."""

    lat: float
    lon: float
    alt: float | None = None
    source: Literal["exif", "quicktime"]


class Capture(BaseModel):
    captured_at: CaptureTime = Field(default_factory=CaptureTime)
    location: Position | None = None
    warnings: list[str] = Field(default_factory=list)


def read_capture(path: Path, media_type: str, *, file_time: Mapping[str, Any] | None = None,
                 max_pixels: int | None = None) -> Capture:
    """Capture time and position of a media file (never raises on bad metadata).

    ``file_time`` is what :func:`source_file_time` found when the work was planned.
    """
    try:
        if media_type == "image":
            capture = image_capture(path, max_pixels=max_pixels)
        else:
            capture = container_capture(path)
    except Exception as exc:  # noqa: BLE001 - each reader catches what it expects; never fail
        capture = Capture(warnings=[f"capture metadata not read: {_first_line(exc)}"])
    if capture.captured_at.source is None:
        capture.captured_at = _file_time(file_time or {})
    return capture


def image_capture(path: Path, *, max_pixels: int | None = None) -> Capture:
    """Capture time (``exif``/``exif-no-offset``) and position (``exif``) of an image."""
    capture, notes = Capture(), []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            kwargs = {"max_pixels": max_pixels} if max_pixels else {}
            with open_image(path, **kwargs) as image:
                exif = image.getexif()
                sub, gps = exif.get_ifd(EXIF_IFD), exif.get_ifd(GPS_IFD)
        except Exception as exc:  # noqa: BLE001 - metadata must never fail the file
            notes.append(f"EXIF not readable: {_first_line(exc)}")
            sub, gps = {}, {}
    notes += [f"EXIF: {_first_line(w.message)}" for w in caught]
    try:
        found = exif_time(sub.get(DATETIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL),
                          sub.get(SUBSEC_TIME_ORIGINAL))
        if found is not None:
            capture.captured_at = found
    except (ValueError, TypeError, OverflowError) as exc:
        notes.append(f"EXIF DateTimeOriginal not used: {_first_line(exc)}")
    try:
        capture.location = exif_position(gps)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError, IndexError) as exc:
        notes.append(f"EXIF GPS position not used: {_first_line(exc)}")
    capture.warnings = list(dict.fromkeys(notes))
    return capture


def container_capture(path: Path) -> Capture:
    """Capture time (``quicktime``) and position (``quicktime``) of a video or audio file."""
    capture = Capture()
    try:
        with open_container(path) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
            streams = [{k.lower(): v for k, v in s.metadata.items()} for s in container.streams]
    except Exception as exc:  # noqa: BLE001 - metadata must never fail the file
        capture.warnings.append(f"container metadata not readable: {_first_line(exc)}")
        return capture
    candidates = [(key, tags.get(key)) for key in QUICKTIME_TIME_KEYS]
    candidates += [("stream creation_time", s.get("creation_time")) for s in streams]
    for key, value in candidates:
        if not value:
            continue
        try:
            found = quicktime_time(value)
        except ValueError as exc:
            capture.warnings.append(f"{key} not used: {_first_line(exc)}")
            continue
        if found is not None:
            capture.captured_at = found
            break
    for key in QUICKTIME_LOCATION_KEYS:
        if tags.get(key):
            try:
                capture.location = iso6709(tags[key])
            except ValueError as exc:
                capture.warnings.append(f"{key} not used: {_first_line(exc)}")
            break
    return capture


def exif_time(original: Any, offset: Any = None, subsec: Any = None) -> CaptureTime | None:
    """The EXIF ``DateTimeOriginal`` (``YYYY:MM:DD HH:MM:SS``) with its offset (``+02:00``) and
    sub-seconds; ``None`` when unset (empty or all zeros); ``ValueError`` when malformed."""
    text = _text(original)
    if not text or not text.strip("0: -"):
        return None
    match = _EXIF_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a YYYY:MM:DD HH:MM:SS time")
    moment = datetime(*(int(part) for part in match.groups()))
    digits = _text(subsec)
    if digits.isdigit():
        moment = moment.replace(microsecond=int(digits[:6].ljust(6, "0")))
    zone = _text(offset)
    match = _OFFSET.fullmatch(zone)
    if match is None or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        note = "local camera time; its time zone is not recorded"
        if zone.strip(" :"):
            note = f"local camera time; its offset {zone!r} is not +HH:MM"
        return CaptureTime(time=moment.isoformat(), source="exif-no-offset", note=note)
    sign = -1 if match.group(1) == "-" else 1
    local = moment.replace(tzinfo=timezone(sign * timedelta(hours=int(match.group(2)),
                                                            minutes=int(match.group(3)))))
    return CaptureTime(time=local.isoformat(), utc=local.astimezone(UTC).isoformat(), source="exif")


def quicktime_time(value: str) -> CaptureTime | None:
    """A QuickTime/MP4 time tag (ISO 8601); ``None`` for the 1904 and 1970 zero times."""
    moment = datetime.fromisoformat(value.strip())
    if moment.year <= 1970:
        return None
    if moment.tzinfo is None:  # creation_time is UTC by the specification
        moment = moment.replace(tzinfo=UTC)
    return CaptureTime(time=moment.isoformat(), utc=moment.astimezone(UTC).isoformat(),
                       source="quicktime")


def exif_position(gps: Mapping[int, Any]) -> Position | None:
    """The position in an EXIF GPS IFD; ``None`` when it has none; ``ValueError`` when malformed."""
    if not gps or (GPS_LAT not in gps and GPS_LON not in gps):
        return None
    lat = _degrees(gps.get(GPS_LAT), _text(gps.get(GPS_LAT_REF)).upper(), "NS", 90.0)
    lon = _degrees(gps.get(GPS_LON), _text(gps.get(GPS_LON_REF)).upper(), "EW", 180.0)
    alt = None
    if gps.get(GPS_ALT) is not None:
        alt = _finite(gps[GPS_ALT], "altitude")
        ref = gps.get(GPS_ALT_REF, 0)
        below = ref[:1] == b"\x01" if isinstance(ref, bytes) else ref in (1, "1")
        alt = round(-alt if below else alt, 2)
    return Position(lat=lat, lon=lon, alt=alt, source="exif")


def iso6709(text: str) -> Position:
    """A point in ISO 6709 form: ``±DD.DD±DDD.DD[±AAA.A][CRS...]/``, degrees and minutes
    (``±DDMM.MM±DDDMM.MM``) or degrees, minutes and seconds (``±DDMMSS±DDDMMSS``)."""
    match = _ISO6709.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 6709 point")
    lat = _sexagesimal(match.group(1), 2)
    lon = _sexagesimal(match.group(2), 3)
    if abs(lat) > 90 or abs(lon) > 180:
        raise ValueError(f"{text!r} is outside the globe")
    alt = round(float(match.group(3)), 2) if match.group(3) else None
    return Position(lat=round(lat, 7), lon=round(lon, 7), alt=alt, source="quicktime")


def source_file_time(uri: str, size_bytes: int | None) -> dict[str, str | None]:
    """The modification time of the file a media item was ingested from, if it is still there.

    Returns ``{"time": ISO 8601 UTC}`` or ``{"time": None, "reason": why not}``. A file at the same
    path whose size differs from what was ingested is another file: its time is not used.
    """
    if uri.startswith("s3://"):
        return {"time": None, "reason": "the source is an S3 object"}
    path = Path(uri)
    try:
        stat = path.stat()
    except OSError:
        return {"time": None, "reason": "the source file is no longer there"}
    if size_bytes is not None and stat.st_size != size_bytes:
        return {"time": None, "reason": "the source file has changed since it was ingested"}
    return {"time": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(), "reason": None}


def _file_time(file_time: Mapping[str, Any]) -> CaptureTime:
    if file_time.get("time"):
        return CaptureTime(time=file_time["time"], utc=file_time["time"], source="file",
                           note="the source file's modification time: copying may have changed it")
    reason = file_time.get("reason") or "only AIMA's stored copy was seen"
    return CaptureTime(note=f"no capture time in the metadata; file time unavailable ({reason})")


def _degrees(value: Any, ref: str, refs: str, limit: float) -> float:
    name = "latitude" if refs == "NS" else "longitude"
    if value is None:
        raise ValueError(f"{name} is missing")
    parts = value if isinstance(value, (tuple, list)) else (value,)
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"{name} has {len(parts)} parts")
    degrees = sum(_finite(part, name) / 60**n for n, part in enumerate(parts))
    if ref[:1] not in refs:
        raise ValueError(f"{name} reference {ref!r} is not {' or '.join(refs)}")
    if degrees > limit:
        raise ValueError(f"{name} {degrees} is over {limit}")
    return round(-degrees if ref[:1] == refs[1] else degrees, 7)


def _finite(value: Any, name: str) -> float:
    number = float(value)  # IFDRational with a zero denominator gives nan
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} value {value!r} is not a number of degrees/metres")
    return number


def _sexagesimal(text: str, degree_digits: int) -> float:
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, fraction = text[1:].partition(".")
    fraction = f".{fraction}" if fraction else ""
    extra = len(whole) - degree_digits
    if extra == 0:
        value = float(whole + fraction)
    elif extra == 2:  # degrees and minutes
        value = int(whole[:degree_digits]) + float(whole[degree_digits:] + fraction) / 60
    elif extra == 4:  # degrees, minutes and seconds
        value = (int(whole[:degree_digits]) + int(whole[degree_digits:degree_digits + 2]) / 60
                 + float(whole[degree_digits + 2:] + fraction) / 3600)
    else:
        raise ValueError(f"{text!r} has {len(whole)} digits before the point")
    return sign * value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ")


def _first_line(thing: object) -> str:
    text = str(thing).strip()
    return text.splitlines()[0] if text else type(thing).__name__
