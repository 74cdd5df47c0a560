"""Diarization and case speakers on voices nobody here made: a real telephone call between two
women, and neural voices (see ``tests/speech/corpus.py`` for what each is)."""

from __future__ import annotations

import hashlib

import pytest

from aima.speech.speakers import CANDIDATE_SCORE, LINK_SCORE, FileSpeaker, link_case_speakers
from tests.speech import corpus
from tests.speech.scoring import der


@pytest.fixture(scope="module")
def call():
    return corpus.phone_call()


@pytest.fixture(scope="module")
def call_diarization(recognizer, diarizer, call):
    return diarizer.diarize(call.path, recognizer.transcribe(call.path))


@pytest.fixture(scope="module")
def voices_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("voices")


def file_speakers(media_id, path, diarization) -> list[FileSpeaker]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return [FileSpeaker(media_id, digest, label, centroid,
                        [t for t in diarization.turns if t.speaker == label])
            for label, centroid in diarization.centroids.items()]


def test_a_real_phone_call_between_two_women_is_two_speakers(call, call_diarization):
    strict = der(call.turns, call_diarization.turns, collar=0.0)
    forgiving = der(call.turns, call_diarization.turns, collar=0.25)
    print(f"DER on the real call: {strict:.3f} (no collar), {forgiving:.3f} (0.25 s collar)")

    assert len(call_diarization.centroids) == 2
    assert forgiving <= 0.20


def test_two_voices_of_close_pitch_with_short_turns(recognizer, diarizer, voices_dir):
    conversation = corpus.voice_conversation("two voices", voices_dir)
    result = diarizer.diarize(conversation.path, recognizer.transcribe(conversation.path))

    assert len(result.centroids) == 2
    assert der(conversation.turns, result.turns, collar=0.25) <= 0.20


def test_three_voices_are_three_speakers(recognizer, diarizer, voices_dir):
    conversation = corpus.voice_conversation("three voices", voices_dir)
    result = diarizer.diarize(conversation.path, recognizer.transcribe(conversation.path))

    assert len(result.centroids) == 3


@pytest.fixture(scope="module")
def people(recognizer, diarizer, voices_dir):
    """media id -> file speakers, for files of one person each: the two women of the call
    (each one's turns cut out of it) and a neural voice."""
    recordings = {
        "diane": corpus.call_speaker_file("Diane", voices_dir),
        "sheila": corpus.call_speaker_file("Sheila", voices_dir),
        "sara": corpus.monologue("sara", voices_dir),
    }
    found = {}
    for media_id, recording in recordings.items():
        diarization = diarizer.diarize(recording.path, recognizer.transcribe(recording.path))
        found[media_id] = file_speakers(media_id, recording.path, diarization)
    return found


def test_files_of_three_people_are_three_case_speakers(people):
    assert all(len(speakers) == 1 for speakers in people.values())  # one voice per file

    case = link_case_speakers([s for speakers in people.values() for s in speakers])

    assert len(case.speakers) == 3
    assert len({case.speaker_of(media_id, "SPEAKER_00") for media_id in people}) == 3


def test_the_call_and_its_speakers_files_link_by_voice(people, call, call_diarization):
    """The call's two women and each woman's own file: two case speakers, each woman's file
    joined to her voice in the call, never to the other woman's."""
    case = link_case_speakers(file_speakers("call", call.path, call_diarization)
                              + people["diane"] + people["sheila"])

    assert len(case.speakers) == 2
    diane, sheila = case.speaker_of("diane", "SPEAKER_00"), case.speaker_of("sheila", "SPEAKER_00")
    assert diane != sheila
    assert {diane, sheila} == {case.speaker_of("call", "SPEAKER_00"),
                               case.speaker_of("call", "SPEAKER_01")}


def test_an_uncertain_link_is_a_candidate_with_its_score(people):
    """A voice halfway between two people scores about 0.7 with each: with the link score set
    above that, it stays a case speaker of its own and both possible links are listed."""
    diane, sara = people["diane"][0], people["sara"][0]
    between = diane.centroid + sara.centroid
    halfway = FileSpeaker("halfway", "f" * 64, "SPEAKER_00", between / (between @ between) ** 0.5)

    case = link_case_speakers([diane, sara, halfway], threshold=1.0 - 0.9)  # link at >= 0.9

    assert len(case.speakers) == 3
    halfway_id = case.speaker_of("halfway", "SPEAKER_00")
    assert len(case.candidates) == 2
    for candidate in case.candidates:
        assert halfway_id in candidate.speakers
        assert CANDIDATE_SCORE <= candidate.score < 0.9
    assert LINK_SCORE < 0.9  # with the real threshold they would have merged
