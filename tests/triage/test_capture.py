"""When and where: capture time and position read by preprocess from files whose metadata
Pillow, exiftool and ffmpeg wrote with known values, time zones and missing fields; GeoJSON."""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
from datetime import UTC, datetime

import av
import pytest
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report import media_rows
from aima.report.geojson import write_geojson
from aima.report.triage import annotate_rows, section
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.triage.capture import exif_time, iso6709, read_capture
from tests.mediagen import ffmpeg
from tests.triage.photos import photo

#: a moment the source files' modification times are set to
FILE_TIME = datetime(2020, 2, 29, 12, 0, 0, tzinfo=UTC)


def pillow_jpeg(path, *, original=None, offset=None, subsec=None, gps=None):
    """A photo with EXIF written by Pillow: DateTimeOriginal, OffsetTimeOriginal, GPS IFD."""
    exif = Image.Exif()
    exif[Base.Make] = "AIMA Optics"
    sub = exif.get_ifd(IFD.Exif)
    for tag, value in ((Base.DateTimeOriginal, original), (Base.OffsetTimeOriginal, offset),
                       (Base.SubsecTimeOriginal, subsec)):
        if value is not None:
            sub[tag] = value
    if gps:
        exif.get_ifd(IFD.GPSInfo).update(gps)
    photo("coffee").save(path, quality=85, exif=exif)
    return path


def exiftool(path, *tags):
    subprocess.run(["exiftool", "-q", "-overwrite_original", *tags, str(path)], check=True)
    return path


def mangle_exif(source, target):
    """A copy whose EXIF block is garbage after its header: IFD offsets and values all wrong."""
    data = bytearray(source.read_bytes())
    start = data.index(b"Exif\x00\x00") + 6
    length = struct.unpack(">H", data[start - 8:start - 6])[0]
    for n in range(start + 8, start - 8 + length):
        data[n] = (n * 151 + 7) % 256
    target.write_bytes(bytes(data))
    return target


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("capture")
    made = {
        # Sydney Opera House, 35.5 m up, half past six in the evening at UTC+10.
        "pillow.jpg": pillow_jpeg(
            folder / "pillow.jpg", original="2021:07:14 18:30:05", offset="+10:00", subsec="25",
            gps={GPS.GPSLatitudeRef: "S", GPS.GPSLatitude: (33.0, 51.0, 24.48),
                 GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: (151.0, 12.0, 55.08),
                 GPS.GPSAltitudeRef: b"\x00", GPS.GPSAltitude: 35.5}),
        # Dead Sea shore, below sea level, camera clock with no zone: written by exiftool.
        "exiftool.jpg": exiftool(
            pillow_jpeg(folder / "exiftool.jpg"), "-DateTimeOriginal=2019:03:02 08:15:00",
            "-GPSLatitude=31.5590", "-GPSLatitudeRef=N", "-GPSLongitude=35.4732",
            "-GPSLongitudeRef=E", "-GPSAltitude=430", "-GPSAltitudeRef=Below Sea Level"),
        # New York in winter (UTC-05:00), written by exiftool; no position.
        "exiftool-offset.jpg": exiftool(
            pillow_jpeg(folder / "exiftool-offset.jpg"), "-DateTimeOriginal=2022:12:31 23:59:58",
            "-OffsetTimeOriginal=-05:00"),
        "zeros.jpg": pillow_jpeg(folder / "zeros.jpg", original="0000:00:00 00:00:00"),
        "plain.png": folder / "plain.png",
        "moved.png": folder / "moved.png",
    }
    photo("rocket").save(made["plain.png"])
    photo("chelsea").save(made["moved.png"])
    made["corrupt.jpg"] = mangle_exif(made["pillow.jpg"], folder / "corrupt.jpg")
    # Well-formed EXIF holding nonsense: a time that is no time, a hemisphere that is none.
    made["garbled.jpg"] = pillow_jpeg(
        folder / "garbled.jpg", original="2021:07:1X 18:30:05",
        gps={GPS.GPSLatitudeRef: "Q", GPS.GPSLatitude: (33.0, 51.0, 24.48),
             GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: (151.0, 12.0, 55.08)})
    # Eiffel Tower as FFmpeg writes it into MP4 (creation_time is UTC; location is ©xyz).
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
           "-metadata", "creation_time=2023-05-04T10:20:30.000000Z",
           "-metadata", "location=+48.8584+002.2945+035.000/", folder / "ffmpeg.mp4")
    made["ffmpeg.mp4"] = folder / "ffmpeg.mp4"
    # An iPhone-style MOV: the local time with its offset, ISO 6709 in Apple's key.
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
           "-movflags", "use_metadata_tags",
           "-metadata", "com.apple.quicktime.creationdate=2022-01-02T03:04:05+1100",
           "-metadata", "com.apple.quicktime.location.ISO6709=-33.8568+151.2153+012.000/",
           "-metadata", "creation_time=2000-01-01T00:00:00Z", folder / "apple.mov")
    made["apple.mov"] = folder / "apple.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1", folder / "bare.mp4")
    made["bare.mp4"] = folder / "bare.mp4"
    for path in made.values():
        os.utime(path, (FILE_TIME.timestamp(), FILE_TIME.timestamp()))
    return folder, made


@pytest.fixture(scope="module")
def case(files, tmp_path_factory):
    """Every file ingested and preprocessed; ``moved.png`` is gone from its folder by then."""
    folder, made = files
    with open_stores(Settings(data_dir=tmp_path_factory.mktemp("data"))) as stores:
        the_case = get_or_create_case(stores.metadata, "when-and-where")
        ids, outcomes = {}, {}
        for name, path in made.items():
            ingested = ingest_file(stores, stores.settings, str(the_case.id),
                                   SourceFile(uri=str(path), name=name))
            assert ingested.status == "done", ingested
            ids[name] = ingested.media_id
        shutil.move(made["moved.png"], folder / "elsewhere.png")
        for name, media_id in ids.items():
            outcomes[name] = run_media_stage(stores, "preprocess", media_id)
        documents = {name: stores.documents.get(str(the_case.id), "preprocess", media_id)
                     for name, media_id in ids.items()}
        rows = media_rows(stores, the_case)
        annotate_rows(rows, section(stores, str(the_case.id)))
        yield {"ids": ids, "outcomes": outcomes, "documents": documents,
               "report": {"case": {"id": str(the_case.id), "name": the_case.name}, "media": rows}}


def test_ffmpeg_and_apple_metadata_read_back_through_pyav(files):
    _, made = files
    with av.open(str(made["ffmpeg.mp4"])) as container:
        assert container.metadata["creation_time"] == "2023-05-04T10:20:30.000000Z"
        assert container.metadata["location"].startswith("+48.8584+002.2945+35")
    with av.open(str(made["apple.mov"])) as container:
        assert container.metadata["com.apple.quicktime.location.ISO6709"].startswith("-33.8568")


def test_exif_time_with_offset_and_gps_written_by_pillow(case):
    document = case["documents"]["pillow.jpg"]
    assert document["captured_at"] == {
        "time": "2021-07-14T18:30:05.250000+10:00", "utc": "2021-07-14T08:30:05.250000+00:00",
        "source": "exif", "note": None}
    assert document["location"] == {"lat": -33.8568, "lon": 151.2153, "alt": 35.5,
                                    "source": "exif"}
    assert document["warnings"] == []


def test_exiftool_written_time_without_offset_and_a_position_below_sea_level(case):
    document = case["documents"]["exiftool.jpg"]
    assert document["captured_at"]["time"] == "2019-03-02T08:15:00"
    assert document["captured_at"]["source"] == "exif-no-offset"
    assert document["captured_at"]["utc"] is None
    assert "time zone is not recorded" in document["captured_at"]["note"]
    assert document["location"] == {"lat": 31.559, "lon": 35.4732, "alt": -430.0,
                                    "source": "exif"}
    offset = case["documents"]["exiftool-offset.jpg"]
    assert offset["captured_at"]["time"] == "2022-12-31T23:59:58-05:00"
    assert offset["captured_at"]["utc"] == "2023-01-01T04:59:58+00:00"
    assert offset["location"] is None


def test_quicktime_creation_time_and_iso6709_location(case):
    mp4 = case["documents"]["ffmpeg.mp4"]
    assert mp4["captured_at"]["time"] == "2023-05-04T10:20:30+00:00"
    assert mp4["captured_at"]["source"] == "quicktime"
    assert mp4["location"] == {"lat": 48.8584, "lon": 2.2945, "alt": 35.0, "source": "quicktime"}
    mov = case["documents"]["apple.mov"]  # Apple's local time wins over creation_time
    assert mov["captured_at"]["time"] == "2022-01-02T03:04:05+11:00"
    assert mov["captured_at"]["utc"] == "2022-01-01T16:04:05+00:00"
    assert mov["location"] == {"lat": -33.8568, "lon": 151.2153, "alt": 12.0,
                               "source": "quicktime"}


def test_file_time_is_the_last_resort_and_only_from_the_source_file(case):
    for name in ("plain.png", "bare.mp4", "zeros.jpg"):
        captured = case["documents"][name]["captured_at"]
        assert (captured["time"], captured["source"]) == (FILE_TIME.isoformat(), "file"), name
        assert case["documents"][name]["location"] is None
    moved = case["documents"]["moved.png"]["captured_at"]
    assert moved["time"] is None and moved["source"] is None
    assert "file time unavailable (the source file is no longer there)" in moved["note"]


def test_corrupt_exif_never_fails_the_file(case):
    assert case["outcomes"]["corrupt.jpg"].status == "done"
    document = case["documents"]["corrupt.jpg"]
    assert document["phash"] is not None and document["thumbnail_key"]
    assert any(w.startswith("EXIF") for w in document["warnings"]), document["warnings"]
    assert document["captured_at"]["source"] == "file"  # nothing usable left in the EXIF
    assert document["location"] is None
    garbled = case["documents"]["garbled.jpg"]
    assert case["outcomes"]["garbled.jpg"].status == "done"
    assert garbled["warnings"] == [
        "EXIF DateTimeOriginal not used: '2021:07:1X 18:30:05' is not a YYYY:MM:DD HH:MM:SS time",
        "EXIF GPS position not used: latitude reference 'Q' is not N or S"]
    assert garbled["captured_at"]["source"] == "file" and garbled["location"] is None


def test_report_rows_carry_time_and_place_and_geojson_maps_them(case, tmp_path):
    rows = {row["name"]: row for row in case["report"]["media"]}
    assert rows["pillow.jpg"]["captured_at"]["source"] == "exif"
    assert rows["exiftool.jpg"]["location"]["alt"] == -430.0
    assert rows["moved.png"]["captured_at"]["time"] is None
    assert all(row["near_duplicate_of"] is None for row in rows.values())

    out = write_geojson(case["report"], tmp_path / "positions.geojson")
    collection = json.loads(out.read_text())
    assert collection["type"] == "FeatureCollection"
    points = {f["properties"]["name"]: f for f in collection["features"]}
    assert set(points) == {"pillow.jpg", "exiftool.jpg", "ffmpeg.mp4", "apple.mov"}
    assert points["pillow.jpg"]["geometry"] == {"type": "Point",
                                                "coordinates": [151.2153, -33.8568, 35.5]}
    assert points["ffmpeg.mp4"]["geometry"]["coordinates"] == [2.2945, 48.8584, 35.0]
    assert points["pillow.jpg"]["properties"]["captured_at"] == "2021-07-14T18:30:05.250000+10:00"
    assert points["pillow.jpg"]["properties"]["time_source"] == "exif"
    assert points["apple.mov"]["properties"]["location_source"] == "quicktime"
    assert collection["aima"]["located"] == 4
    assert collection["aima"]["not_located"] == len(rows) - 4


def test_iso6709_forms_and_bad_values():
    assert iso6709("+48.8584+002.2945/").model_dump() == {
        "lat": 48.8584, "lon": 2.2945, "alt": None, "source": "quicktime"}
    minutes = iso6709("+4851.504+00217.670/")  # degrees and decimal minutes
    assert (round(minutes.lat, 4), round(minutes.lon, 4)) == (48.8584, 2.2945)
    seconds = iso6709("-335124.48+1511255.08+035.5CRSWGS_84/")  # degrees, minutes, seconds
    assert (round(seconds.lat, 4), round(seconds.lon, 4), seconds.alt) == (-33.8568, 151.2153,
                                                                           35.5)
    for bad in ("", "48.8584,2.2945", "+95.0+010.0/", "+48.8+002.2945+1+2/"):
        with pytest.raises(ValueError):
            iso6709(bad)


def test_exif_time_edge_cases():
    assert exif_time("0000:00:00 00:00:00") is None and exif_time("    :  :     :  :  ") is None
    assert exif_time(b"2021:07:14 18:30:05\x00", b"+02:00").time == "2021-07-14T18:30:05+02:00"
    blank = exif_time("2021:07:14 18:30:05", "   :  ")
    assert blank.source == "exif-no-offset" and blank.utc is None
    odd = exif_time("2021:07:14 18:30:05", "Z+2")
    assert odd.source == "exif-no-offset" and "'Z+2' is not +HH:MM" in odd.note
    for bad in ("2021:13:14 18:30:05", "yesterday"):
        with pytest.raises(ValueError):
            exif_time(bad)


def test_exif_blocks_with_random_bytes_changed_never_raise(files, tmp_path):
    source = files[1]["pillow.jpg"].read_bytes()
    start = source.index(b"Exif\x00\x00")
    length = struct.unpack(">H", source[start - 2:start])[0]
    rng = random.Random(7)
    for n in range(40):
        data = bytearray(source)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(start + 6, start - 2 + length)] = rng.randrange(256)
        path = tmp_path / f"mutant-{n}.jpg"
        path.write_bytes(bytes(data))
        capture = read_capture(path, "image")
        assert capture.captured_at.source in ("exif", "exif-no-offset", None)
        assert capture.location is None or -90 <= capture.location.lat <= 90
