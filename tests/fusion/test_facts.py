"""The facts code gives the language model: every observation once, each with its evidence ids."""

from __future__ import annotations

from aima import evidence
from aima.fusion.facts import Aliases, case_facts
from tests.fusion.reportgen import CALL, CONTEXT, PHOTO, VIDEO, small_report


def _line(facts, needle: str) -> str:
    matches = [line for line in facts.lines() if needle in line]
    assert len(matches) == 1, (needle, matches)
    return matches[0]


def test_files_get_short_names_in_report_order():
    facts = case_facts(small_report())
    assert [(m.alias, m.name) for m in facts.media] == [
        ("m1", "street.mp4"), ("m2", "door.jpg"), ("m3", "call.wav")]
    assert facts.context == CONTEXT
    assert facts.media[0].header.startswith('File m1 = "street.mp4" (video, 20.0 s, speech '
                                            "language en")


def test_what_was_said_cites_its_segment_with_speaker_and_times():
    facts = case_facts(small_report())
    assert _line(facts, "Please let me go") == (
        '4.0-6.0 s speaker-2 said "Please let me go." [seg:m1:1]')
    assert _line(facts, "held at the door") == (
        '0.5-2.5 s speaker-2 said "I was held at the door." [seg:m3:0]')


def test_faces_restraints_vision_and_text_cite_their_ids():
    facts = case_facts(small_report())
    assert _line(facts, "at 10.0 s faces seen") == (
        "at 10.0 s faces seen: person-1, person-2 [face:m1:1:0, face:m1:1:1]")
    restraint = _line(facts, "possible restraint: handcuffs")
    assert "detector (score 0.81) and the vision model" in restraint
    assert "near the face of person-2" in restraint
    assert restraint.endswith("[det:m1:1:0, vlm:m1:1, kf:m1:1]")
    seen = _line(facts, "the vision model saw")
    assert "handcuffs (wrists behind)" in seen and "distress: crying" in seen
    assert seen.endswith("[vlm:m1:1, kf:m1:1]")
    assert _line(facts, "NO ENTRY") == (
        'in the image text read (OCR): "NO ENTRY AFTER 10 PM" [ocr:m2:image:0]')


def test_case_level_lines_name_persons_links_and_counts():
    facts = case_facts(small_report())
    overview = facts.overview()
    assert overview[:3] == [m.header for m in facts.media]
    assert any(line.startswith("speaker-2 (labelled \"Speaker 2\"): voice appearances in m1 "
                               "(once, 4.0-6.0 s), m3 (once, 0.5-2.5 s) [seg:m1:1, seg:m3:0]")
               for line in overview)
    assert any(line.startswith("speaker-2 and person-2 may be one person (proposed")
               for line in overview)
    assert any(line.startswith("Counts: 3 files, 4 faces in 2 face persons, 2 speakers, "
                               "4 speech segments, 1 text lines read") for line in overview)


def test_every_cited_id_is_evidence_of_the_report_and_every_observation_is_cited():
    report = small_report()
    facts = case_facts(report)
    known = {item["id"] for item in report["evidence"]}
    assert facts.cited() <= known
    # everything but the keyframe of frame 0, which no observation rests on
    assert known - facts.cited() == {evidence.keyframe_id(VIDEO, 0)}


def test_short_ids_map_back_to_full_ones():
    report = small_report()
    aliases = case_facts(report).aliases
    for item in report["evidence"]:
        assert aliases.full_id(aliases.short_id(item["id"])) == item["id"]
        assert aliases.full_id(item["id"]) == item["id"]
    assert aliases.media("m2") == PHOTO and aliases.media("call.wav") == CALL
    assert aliases.media(VIDEO) == VIDEO and aliases.media("m9") is None
    assert aliases.full_id("not an id") is None


def test_a_report_without_optional_sections_still_gives_facts():
    facts = case_facts({"case": {"id": "c", "name": "empty"},
                        "media": [{"id": VIDEO, "name": "a.mp4", "type": "video"}]})
    assert facts.lines()[-1].startswith('File m1 = "a.mp4"')
    assert facts.cited() == set()


def test_aliases_ignore_repeated_media():
    aliases = Aliases([(VIDEO, "a"), (VIDEO, "a"), (PHOTO, "b")])
    assert aliases.short(PHOTO) == "m2"


def test_files_follow_the_timeline_basis_and_only_capture_times_are_called_recorded():
    report = small_report()
    report["timeline_basis"] = {"order": "mixed", "media": [
        {"media_id": CALL, "name": "call.wav", "origin": "2026-05-03T10:00:00+00:00",
         "source": "capture_time"},
        {"media_id": VIDEO, "name": "street.mp4", "origin": "2026-05-03T10:05:00+00:00",
         "source": "ingest_order"}]}
    facts = case_facts(report)
    assert [m.name for m in facts.media] == ["call.wav", "street.mp4", "door.jpg"]
    assert "recorded 2026-05-03T10:00:00+00:00" in facts.media[0].header
    assert "recorded" not in facts.media[1].header
    assert _line(facts, "Please let me go").endswith("[seg:m2:1]")
