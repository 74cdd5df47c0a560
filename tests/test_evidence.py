"""Evidence ids are built and parsed in one place."""

from __future__ import annotations

import uuid

import pytest

from aima import evidence


def test_ids_round_trip():
    media = str(uuid.uuid4())
    for made, kind, parts in [
        (evidence.keyframe_id(media, 3), "kf", ("3",)),
        (evidence.segment_id(media, 0), "seg", ("0",)),
        (evidence.voice_id(media, "SPEAKER_01"), "voice", ("SPEAKER_01",)),
        (evidence.face_id(media, 2, 1), "face", ("2", "1")),
        (evidence.ocr_id(media, evidence.IMAGE_FRAME, 4), "ocr", ("image", "4")),
        (evidence.vlm_id(media, 7), "vlm", ("7",)),
        (evidence.detection_id(media, 7, 0), "det", ("7", "0")),
    ]:
        parsed = evidence.parse(made)
        assert (parsed.kind, parsed.media_id, parsed.parts) == (kind, media, parts)
        assert str(parsed) == made


@pytest.mark.parametrize("text", ["", "kf", "kf:abc", "kf:abc:1:2", "face:abc:1", "xyz:abc:1",
                                  "seg::1"])
def test_malformed_ids_are_refused(text):
    with pytest.raises(evidence.BadEvidenceId):
        evidence.parse(text)


def test_a_part_with_a_colon_is_refused():
    with pytest.raises(evidence.BadEvidenceId):
        evidence.voice_id("m", "a:b")


def test_segments_overlapping_a_turn():
    segments = [{"start": 0.0, "end": 1.0}, {"start": 1.0, "end": 2.5}, {"start": 3.0, "end": 4.0}]
    assert evidence.overlapping_segments("m", segments, 0.9, 2.0) == ["seg:m:0", "seg:m:1"]
    assert evidence.overlapping_segments("m", segments, 2.5, 3.0) == []


def test_locator_keeps_only_what_the_kind_has():
    assert evidence.Locator("m", timestamp_s=1.5).as_dict() == {"media_id": "m", "timestamp_s": 1.5}
