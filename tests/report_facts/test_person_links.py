"""Faces and voices together, on a case the real stages analysed: a face alone on screen while one
voice talks is proposed as that voice's person; two faces on screen propose nothing; a reviewer's
acceptance puts the speech in the face person's dossier, a rejection takes it out, and both are
audit-logged and survive reruns."""

from __future__ import annotations

import pytest

from aima import person_links
from aima.persons_edits import PersonEditError
from aima.pipeline.runner import run_case_stage
from aima.report import dossiers
from aima.storage import audit
from tests.report_facts.conftest import PAIR_LINES, SOLO_LINES, report_of


def keys(case) -> dict[str, str]:
    """File name -> the case speaker heard in it, and -> the face persons seen in it."""
    report, _ = report_of(case.stores, case.case_id)
    names = {media_id: name for name, media_id in case.ids.items()}
    speakers = {names[t["media_id"]]: {s["speaker"] for s in t["segments"]}
                for t in report["transcripts"]}
    faces = {}
    for item in report["evidence"]:
        if item["kind"] == "face":
            faces.setdefault(names[item["media_id"]], set()).add(item["person"])
    return {"speaker": {name: found.pop() for name, found in speakers.items()
                        if len(found) == 1},
            "faces": faces, "report": report}


def dossier_of(case, person: str) -> dict:
    report, _ = report_of(case.stores, case.case_id)
    built = dossiers.build(report["persons"], report["evidence"], report["transcripts"],
                           report["restraint_observations"],
                           person_links.links(case.stores, case.case_id), media=report["media"])
    return next(d for d in built if d["person"] == person)


def test_a_face_alone_on_screen_while_one_voice_talks_is_proposed_and_two_faces_are_not(
        talking_case):
    found = keys(talking_case)
    solo_speaker, pair_speaker = found["speaker"]["solo.mp4"], found["speaker"]["pair.mp4"]
    assert solo_speaker != pair_speaker
    (solo_person,) = found["faces"]["solo.mp4"]
    assert len(found["faces"]["pair.mp4"]) == 2

    proposals = person_links.propose(talking_case.stores, talking_case.case_id)

    assert [(p["speaker"], p["person"]) for p in proposals] == [(solo_speaker, solo_person)]
    (proposal,) = proposals
    segments = [s for t in found["report"]["transcripts"] for s in t["segments"]
                if s["speaker"] == solo_speaker]
    assert len(segments) == len(SOLO_LINES)
    # every sentence has keyframes showing the astronaut alone
    assert proposal["co_occurrences"] == len(SOLO_LINES) and proposal["score"] == 1.0
    cited = set(proposal["evidence"])
    assert {s["id"] for s in segments} <= cited
    faces = {e["id"]: e for e in found["report"]["evidence"] if e["kind"] == "face"}
    cited_faces = [faces[c] for c in cited if c.startswith("face:")]
    assert cited_faces and all(f["person"] == solo_person for f in cited_faces)
    # each cited face lies inside a cited segment of the same file
    for face in cited_faces:
        assert any(s["start"] <= face["timestamp_s"] <= s["end"] for s in segments)
    statuses = {(l["speaker"], l["person"]): l["status"]
                for l in person_links.links(talking_case.stores, talking_case.case_id)}
    assert statuses == {(solo_speaker, solo_person): "proposed"}
    assert all(not l["speaker"] == pair_speaker
               for l in person_links.links(talking_case.stores, talking_case.case_id))


def test_accepting_puts_the_speech_in_the_face_dossier_and_rejecting_takes_it_out(talking_case,
                                                                                 models):
    stores, case_id = talking_case.stores, talking_case.case_id
    found = keys(talking_case)
    speaker = found["speaker"]["solo.mp4"]
    (person,) = found["faces"]["solo.mp4"]
    assert dossier_of(talking_case, person)["said"] == []  # a proposal adds nothing

    accepted = person_links.accept(stores, case_id, speaker, person.removeprefix("person-"),
                                   actor="reviewer")

    assert accepted["status"] == "accepted" and accepted["speaker"] == speaker
    dossier = dossier_of(talking_case, person)
    assert [s["text"] for s in dossier["said"]] == SOLO_LINES
    assert {s["speaker"] for s in dossier["said"]} == {speaker}
    assert all(s["evidence"][0].startswith("seg:") and s["language"] == "en"
               for s in dossier["said"])
    assert dossier["linked"] == [f"Speaker {speaker.rsplit('-', 1)[1]}"]
    assert dossier_of(talking_case, speaker)["linked"] == [dossier["label"]]
    # one voice, one person: a second face person for the same speaker is refused
    other = sorted(found["faces"]["pair.mp4"])[0]
    with pytest.raises(PersonEditError, match="linked to"):
        person_links.accept(stores, case_id, speaker, other, actor="reviewer")

    # kept when the persons are linked again (a rerun), and the face clusters ignore it
    run_case_stage(stores, "link-speakers", case_id, models=models)
    document = run_case_stage(stores, "link-persons", case_id, models=models)
    assert document.data["edits_not_applied"] == 0
    assert [s["text"] for s in dossier_of(talking_case, person)["said"]] == SOLO_LINES

    rejected = person_links.reject(stores, case_id, f"Speaker {speaker.rsplit('-', 1)[1]}",
                                   person, actor="reviewer")

    assert rejected["status"] == "rejected"
    assert dossier_of(talking_case, person)["said"] == []
    assert dossier_of(talking_case, person)["linked"] == []
    actions = [(e.action, e.details["speaker"], e.details["person"], e.actor)
               for e in audit.events(stores.metadata, case_id) if e.action.startswith("persons.")]
    assert actions == [("persons.link", speaker, person, "reviewer"),
                       ("persons.unlink", speaker, person, "reviewer")]


def test_a_voice_dossier_holds_what_it_said_and_unknown_persons_are_refused(talking_case):
    stores, case_id = talking_case.stores, talking_case.case_id
    speaker = keys(talking_case)["speaker"]["pair.mp4"]

    dossier = dossier_of(talking_case, speaker)

    assert dossier["modalities"] == ["voice"]
    assert len(dossier["said"]) == len(PAIR_LINES)
    assert dossier["said"][0]["text"] == PAIR_LINES[0]
    assert [a["name"] for a in dossier["appearances"]] == ["pair.mp4"] * len(dossier["appearances"])
    with pytest.raises(PersonEditError, match="no speaker"):
        person_links.accept(stores, case_id, "speaker-9", "person-1", actor="reviewer")
    with pytest.raises(PersonEditError, match="no person from faces"):
        person_links.accept(stores, case_id, speaker, "person-9", actor="reviewer")

