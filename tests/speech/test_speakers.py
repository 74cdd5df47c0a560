"""Case speakers: one voice across files is one case speaker, with ids that do not move."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest

from aima.speech.speakers import FileSpeaker, link_case_speakers
from tests.speech.speechgen import VOICE_A, VOICE_B


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def case_files(recognizer, diarizer, dialogue, dialogue_diarization, monologues):
    """media id -> (path, diarization) for the dialogue (A and B) and one monologue per voice."""
    files = {"dialogue": (dialogue.path, dialogue_diarization)}
    for voice, media_id in ((VOICE_A, "monologue-a"), (VOICE_B, "monologue-b")):
        path = monologues[voice]
        files[media_id] = (path, diarizer.diarize(path, recognizer.transcribe(path)))
    return files


@pytest.fixture(scope="module")
def file_speakers(case_files) -> list[FileSpeaker]:
    speakers = []
    for media_id, (path, diarization) in case_files.items():
        digest = sha256(path)
        for label, centroid in diarization.centroids.items():
            turns = [t for t in diarization.turns if t.speaker == label]
            speakers.append(FileSpeaker(media_id, digest, label, centroid, turns))
    return speakers


def dialogue_label_of(voice: str, dialogue) -> str:
    """The dialogue's local label for ``voice``: voice A opens the dialogue, so it is SPEAKER_00."""
    return "SPEAKER_00" if voice == dialogue.turns[0].voice else "SPEAKER_01"


def test_the_same_voice_in_two_files_is_one_case_speaker(file_speakers, dialogue):
    assert len(file_speakers) == 4  # two in the dialogue, one per monologue

    case = link_case_speakers(file_speakers)

    assert len(case.speakers) == 2
    a = case.speaker_of("dialogue", dialogue_label_of(VOICE_A, dialogue))
    b = case.speaker_of("dialogue", dialogue_label_of(VOICE_B, dialogue))
    assert a != b
    assert case.speaker_of("monologue-a", "SPEAKER_00") == a
    assert case.speaker_of("monologue-b", "SPEAKER_00") == b
    assert {s.speaker_id for s in case.speakers} == {"speaker-1", "speaker-2"}


def test_ids_do_not_depend_on_input_order_or_reruns(file_speakers):
    first = link_case_speakers(file_speakers).assignments
    for seed in range(5):
        shuffled = list(file_speakers)
        random.Random(seed).shuffle(shuffled)
        assert link_case_speakers(shuffled).assignments == first


def test_ids_are_numbered_by_file_hash_then_first_turn(file_speakers):
    case = link_case_speakers(file_speakers)
    earliest = min(file_speakers, key=lambda s: (s.media_sha256, s.first_start))
    assert case.speaker_of(*earliest.key) == "speaker-1"


def test_a_case_speaker_lists_its_turns_per_file(file_speakers, case_files):
    case = link_case_speakers(file_speakers)
    for speaker in case.speakers:
        assert len(speaker.turns) == 2  # the dialogue and one monologue
        for media_id, turns in speaker.turns.items():
            labels = {label for m, label in speaker.members if m == media_id}
            expected = [t for t in case_files[media_id][1].turns if t.speaker in labels]
            assert turns == sorted(expected, key=lambda t: (t.start, t.end))
        assert (
            speaker.centroid is not None
            and abs(float(speaker.centroid @ speaker.centroid) - 1) < 1e-5
        )


def test_two_speakers_of_one_file_are_never_merged(file_speakers):
    case = link_case_speakers(file_speakers, threshold=2.0)  # everything else may merge

    dialogue_ids = {
        case.speaker_of("dialogue", "SPEAKER_00"),
        case.speaker_of("dialogue", "SPEAKER_01"),
    }
    assert len(dialogue_ids) == 2
    assert len(case.speakers) == 2


def test_distinct_voices_stay_apart_when_the_threshold_is_strict(file_speakers):
    assert len(link_case_speakers(file_speakers, threshold=0.0).speakers) == 4


def test_an_empty_case_and_duplicate_keys():
    assert link_case_speakers([]).speakers == []
    vector = np.ones(4, dtype=np.float32)
    twice = [
        FileSpeaker("m", "h", "SPEAKER_00", vector),
        FileSpeaker("m", "h", "SPEAKER_00", vector),
    ]
    with pytest.raises(ValueError, match="only once"):
        link_case_speakers(twice)


def test_adding_a_file_keeps_the_ids_of_known_voices(file_speakers):
    """Link without monologue B, then with it: whatever its hash, known voices keep their ids."""
    from aima.speech.speakers import carry_over_ids

    before = link_case_speakers([s for s in file_speakers if s.media_id != "monologue-b"])
    # Make the added file sort first, which renumbers the plain linking.
    added = [FileSpeaker(s.media_id, "0" * 64 if s.media_id == "monologue-b" else s.media_sha256,
                         s.label, s.centroid, s.turns) for s in file_speakers]
    plain = link_case_speakers(added)
    assert plain.speaker_of("monologue-b", "SPEAKER_00") == "speaker-1"  # the renumbering

    carried = carry_over_ids(plain, before.assignments)

    for key, speaker_id in before.assignments.items():
        assert carried.assignments[key] == speaker_id
    b = carried.speaker_of("monologue-b", "SPEAKER_00")
    assert b == carried.speaker_of("dialogue", next(
        label for (media, label), sid in before.assignments.items()
        if media == "dialogue" and sid != before.speaker_of("monologue-a", "SPEAKER_00")))
    assert carry_over_ids(plain, plain.assignments).assignments == plain.assignments


def test_a_new_voice_gets_a_number_never_used_before(file_speakers):
    from aima.speech.speakers import carry_over_ids

    only_a = link_case_speakers([s for s in file_speakers if s.media_id == "monologue-a"])
    previous = {**only_a.assignments, ("gone", "SPEAKER_00"): "speaker-7"}  # a purged file's voice
    carried = carry_over_ids(link_case_speakers(file_speakers), previous)

    assert carried.speaker_of("monologue-a", "SPEAKER_00") == "speaker-1"
    assert carried.speaker_of("monologue-b", "SPEAKER_00") == "speaker-8"
    assert [s.speaker_id for s in carried.speakers] == ["speaker-1", "speaker-8"]
