"""Grounding: what happens to invented, misplaced, mistimed and malformed answers of a model."""

from __future__ import annotations

import json

import pytest

from aima import evidence
from aima.fusion import fuse_report
from aima.fusion.facts import case_facts
from aima.fusion.grounding import EvidenceIndex, Malformed, ground, read_answer
from tests.fusion.reportgen import CALL, PHOTO, VIDEO, small_report
from tests.fusion.scripted import ScriptedLLM, answer


def _event(time, media, ids, description="an event", confidence="medium"):
    return {"time": time, "media_id": media, "description": description, "evidence": ids,
            "confidence": confidence}


def _fuse(reply: str) -> dict:
    llm = ScriptedLLM(reply)
    document = fuse_report(small_report(), llm, strategy="single")
    written = document["narrative"]["status"] == "written"
    assert len(llm.calls) == (1 if written else 2)  # a malformed answer is asked for again
    return document["narrative"]


def _counts_add_up(narrative: dict) -> None:
    g = narrative["grounding"]
    assert g["claims"] == g["grounded"] + g["ungrounded"] + g["dropped"]


def test_invented_ids_are_removed_and_a_claim_left_without_evidence_is_dropped():
    narrative = _fuse(answer(timeline=[
        _event(4.5, "m1", ["seg:m1:1", "seg:m1:99", "face:m7:0:0", "made-up"]),
        _event(1.0, "m1", ["seg:m1:42"]),
    ]))
    assert narrative["status"] == "written"
    [event] = narrative["timeline"]
    assert event["evidence"] == [evidence.segment_id(VIDEO, 1)]
    assert event["media_id"] == VIDEO and event["name"] == "street.mp4" and event["grounded"]
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["dropped"], g["removed_ids"]) == (2, 1, 1, 4)
    assert any("seg:m1:99" in problem for problem in g["problems"])
    _counts_add_up(narrative)


def test_evidence_of_another_file_is_removed_from_a_claim_about_one_file():
    narrative = _fuse(answer(
        timeline=[_event(1.0, "m3", ["seg:m3:0", "seg:m1:0"]),   # m1's segment cited for m3
                  _event(1.0, "m2", ["seg:m1:0"])],              # only evidence of another file
        restraints=[{"person": "person-2", "media_id": "m1", "description": "handcuffs",
                     "evidence": ["det:m1:1:0", "ocr:m2:image:0"], "confidence": "medium"}]))
    [event] = narrative["timeline"]
    assert event["media_id"] == CALL and event["evidence"] == [evidence.segment_id(CALL, 0)]
    [restraint] = narrative["restraints"]
    assert restraint["evidence"] == [evidence.detection_id(VIDEO, 1, 0)]
    assert restraint["person"] == "person-2"
    g = narrative["grounding"]
    assert (g["grounded"], g["dropped"], g["removed_ids"]) == (2, 1, 3)
    assert any("another file" in problem for problem in g["problems"])


def test_a_timeline_event_must_lie_near_the_time_of_its_evidence():
    narrative = _fuse(answer(timeline=[
        _event(5.0, "m1", ["seg:m1:1"]),               # 4.0-6.0 s: inside
        _event(7.5, "m1", ["seg:m1:1"]),               # 1.5 s after its end: within tolerance
        _event(50.0, "m1", ["seg:m1:1", "kf:m1:1"]),    # nowhere near either
        _event(11.0, "m1", ["seg:m1:0", "kf:m1:1"]),    # the keyframe at 10 s fits, 1-3 s not
        _event(3.0, "m2", ["ocr:m2:image:0"]),          # an image has no time to contradict
    ]))
    kept = [(e["time"], e["evidence"]) for e in narrative["timeline"]]
    assert kept == [(5.0, [evidence.segment_id(VIDEO, 1)]), (7.5, [evidence.segment_id(VIDEO, 1)]),
                    (11.0, [evidence.keyframe_id(VIDEO, 1)]),
                    (3.0, [evidence.ocr_id(PHOTO, "image", 0)])]
    g = narrative["grounding"]
    assert (g["grounded"], g["dropped"], g["removed_ids"]) == (4, 1, 3)
    assert any("not within 2 s of 50 s" in problem for problem in g["problems"])


def test_timeline_is_ordered_by_file_then_time_and_files_may_be_named_any_way():
    narrative = _fuse(answer(timeline=[
        _event(1.0, "call.wav", ["seg:m3:0"]),
        _event(12.0, VIDEO, [evidence.segment_id(VIDEO, 2)]),  # full ids work too
        _event(2.0, "m1", ["seg:m1:0"]),
        _event(1.0, "the hallway video", ["seg:m1:0"]),        # unknown file: placed by its ids
    ]))
    assert [(e["name"], e["time"]) for e in narrative["timeline"]] == [
        ("street.mp4", 1.0), ("street.mp4", 2.0), ("street.mp4", 12.0), ("call.wav", 1.0)]
    assert any("'the hallway video' unknown" in p for p in narrative["grounding"]["problems"])


@pytest.mark.parametrize("reply, reason", [
    ('{"summary": "Two persons", "timeline": [{"time": 1.0, "media_id": "m1", "desc',
     "not valid JSON"),
    ("I cannot help with that.", "no JSON object"),
    ('["seg:m1:0"]', "no JSON object"),
    ('{"summary": 3, "timeline": "speaker-1 spoke"}',
     "does not match the schema: summary: expected a string; timeline: expected a list"),
    ('{"time": 1.0, "media_id": "m1"}', "none of the narrative's keys"),
])
def test_malformed_answers_fail_the_narrative_with_the_reason(reply, reason):
    with pytest.raises(Malformed, match=reason):
        read_answer(reply)
    narrative = _fuse(reply)
    assert narrative["status"] == "failed"
    assert reason in narrative["reason"] and narrative["reason"].startswith("the case-level answer")
    assert narrative["timeline"] == [] and narrative["grounding"]["claims"] == 0
    assert narrative["model_id"] == "scripted"


def test_an_answer_cut_off_by_its_token_budget_keeps_its_complete_claims():
    whole = answer(summary="Three things happen.",
                   timeline=[_event(1.0, "m1", ["seg:m1:0"]), _event(4.0, "m1", ["seg:m1:1"]),
                             _event(12.0, "m1", ["seg:m1:2"])])
    cut = whole[:whole.index('"time": 12.0') + 20]  # inside the third event
    narrative = _fuse(cut)
    assert narrative["status"] == "written" and narrative["summary"] == "Three things happen."
    assert [e["time"] for e in narrative["timeline"]] == [1.0, 4.0]
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["ungrounded"], g["dropped"]) == (4, 2, 1, 1)
    assert "cut off by its token budget" in g["problems"][0]


def test_an_answer_cut_off_before_its_first_claim_keeps_its_summary():
    whole = answer(summary="Someone asks to be let go.", summary_evidence=["seg:m1:1"],
                   timeline=[_event(4.0, "m1", ["seg:m1:1"])])
    narrative = _fuse(whole[:whole.index('"time"') + 9])
    assert narrative["status"] == "written" and narrative["timeline"] == []
    assert narrative["summary_grounded"] and narrative["summary"] == "Someone asks to be let go."
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["dropped"]) == (2, 1, 1)


def test_a_claim_of_the_wrong_shape_is_dropped_and_the_rest_kept():
    reply = answer(
        summary="Two people at a door.",
        timeline=[_event(1.0, "m1", ["seg:m1:0"]),
                  _event(2.0, "m1", ["seg:m1:0"], confidence="certain"),   # not an allowed value
                  {"time": "soon", "media_id": "m1"},                       # missing fields
                  _event(4.0, "m1", ["seg:m1:1"])],
        indicators=[{"kind": "distress", "description": "crying", "evidence": ["vlm:m1:1"],
                     "confidence": "low"},
                    {"kind": "fear", "description": "x", "evidence": ["vlm:m1:1"],
                     "confidence": "low"}])
    narrative = _fuse(reply)
    assert narrative["status"] == "written"
    assert [e["time"] for e in narrative["timeline"]] == [1.0, 4.0]
    assert [i["kind"] for i in narrative["indicators"]] == ["distress"]
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["ungrounded"], g["dropped"]) == (7, 3, 1, 3)
    assert any(p.startswith("timeline[1] dropped: confidence") for p in g["problems"])
    assert any(p.startswith("indicators[1] dropped: kind") for p in g["problems"])
    _counts_add_up(narrative)


def test_persons_are_kept_ungrounded_without_their_own_evidence_and_dropped_when_invented():
    narrative = _fuse(answer(persons=[
        {"person": "Person 2", "description": "sits on the ground", "appearances": ["m1"],
         "said": [], "interactions": [], "restraints": ["handcuffs"],
         "evidence": ["face:m1:1:1", "det:m1:1:0", "seg:m1:1", "seg:m1:0"]},
        {"person": "speaker-1", "description": "gives orders", "appearances": [], "said": [],
         "interactions": [], "restraints": [], "evidence": ["face:m1:1:1"]},
        {"person": "John Smith", "description": "the owner", "appearances": [], "said": [],
         "interactions": [], "restraints": [], "evidence": ["seg:m1:0"]},
    ]))
    two, one = narrative["persons"]
    assert two["person"] == "person-2" and two["grounded"]
    # her face, the detection on it, and speaker-2's segment through the proposed link;
    # speaker-1's segment is not evidence about her
    assert two["evidence"] == [evidence.face_id(VIDEO, 1, 1), evidence.detection_id(VIDEO, 1, 0),
                               evidence.segment_id(VIDEO, 1)]
    assert one["person"] == "speaker-1" and not one["grounded"] and one["evidence"] == []
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["ungrounded"], g["dropped"]) == (3, 1, 1, 1)
    assert "persons[2] dropped: its person is no case person label" in g["problems"]
    assert "John" not in str(narrative)


def test_review_requests_stay_without_evidence_and_contradictions_need_two_sources():
    narrative = _fuse(answer(
        summary="speaker-2 says she was held [seg:m3:0] while seg:m1:77 shows nothing.",
        requires_human_review=[{"reason": "possible restraint", "evidence": ["det:m1:1:0"]},
                               {"reason": "check the whole call", "evidence": ["seg:m3:9"]}],
        contradictions=[{"description": "she asks to go but says she was held",
                         "evidence": ["seg:m1:1", "seg:m3:0"]},
                        {"description": "one source only", "evidence": ["seg:m1:1"]}]))
    first, second = narrative["requires_human_review"]
    assert first["grounded"] and first["evidence"] == [evidence.detection_id(VIDEO, 1, 0)]
    assert not second["grounded"] and second["evidence"] == []
    [contradiction] = narrative["contradictions"]
    assert contradiction["evidence"] == [evidence.segment_id(VIDEO, 1),
                                         evidence.segment_id(CALL, 0)]
    assert narrative["summary"] == (f"speaker-2 says she was held [{evidence.segment_id(CALL, 0)}] "
                                    "while shows nothing.")
    assert not narrative["summary_grounded"]
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["ungrounded"], g["dropped"]) == (5, 2, 2, 1)


def test_the_summary_is_grounded_by_the_valid_ids_it_cites():
    narrative = _fuse(answer(summary="Speaker 2 asks to be let go.",
                             summary_evidence=["seg:m1:1", "seg:m1:55"]))
    assert narrative["summary_grounded"]
    assert narrative["summary_evidence"] == [evidence.segment_id(VIDEO, 1)]
    g = narrative["grounding"]
    assert (g["claims"], g["grounded"], g["removed_ids"]) == (1, 1, 1)
    empty = _fuse(answer(summary="", summary_evidence=["seg:m1:1"]))
    assert not empty["summary_grounded"] and empty["grounding"]["claims"] == 0


def test_grounding_reads_a_reply_directly():
    report = small_report()
    index = EvidenceIndex(report, case_facts(report).aliases)
    reply = json.dumps({"summary": "s", "timeline": [_event(1.0, "m1", ["seg:m1:0, seg:m1:2"])]})
    narrative = ground(read_answer(reply), index)
    # two ids written into one string are split; 12.0-14.5 s is too far from 1.0 s
    assert narrative.timeline[0].evidence == [evidence.segment_id(VIDEO, 0)]
    assert narrative.grounding.removed_ids == 1
