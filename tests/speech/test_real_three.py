"""Three real women: a conversation of the three, and a file of each alone.

The two women of a real telephone call and the woman whose voice ALSA's speaker-test clips are
(``tests/speech/corpus.py`` says what each recording is): three real people of one sex, turns
under two seconds among them. The ALSA clips come from Debian's ``alsa-utils``.
"""

from __future__ import annotations

import pytest

from aima.speech.speakers import link_case_speakers
from tests.speech import corpus
from tests.speech.scoring import der
from tests.speech.test_real_voices import file_speakers


@pytest.fixture(scope="module")
def women_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("three-women")


def diarize(recognizer, diarizer, recording: corpus.Recording):
    return diarizer.diarize(recording.path, recognizer.transcribe(recording.path))


def test_a_conversation_of_three_real_women_is_three_speakers(recognizer, diarizer, women_dir):
    conversation = corpus.three_women(women_dir)
    result = diarize(recognizer, diarizer, conversation)
    forgiving = der(conversation.turns, result.turns, collar=0.25)
    print(f"three women: {len(result.centroids)} speakers, DER {forgiving:.3f} (0.25 s collar)")

    assert len(result.centroids) == 3
    assert forgiving <= 0.20


def test_three_real_women_talking_over_each_other_are_three_speakers(
    recognizer, diarizer, women_dir
):
    """Five of the eleven changes of speaker overlap by 0.4 s; each word has one speaker, so the
    bound leaves room for the second voice of an overlap, missed where the collars end."""
    conversation = corpus.three_women(women_dir, overlap_every=2)
    result = diarize(recognizer, diarizer, conversation)
    forgiving = der(conversation.turns, result.turns, collar=0.25)
    print(f"three women, overlaps: {len(result.centroids)} speakers, DER {forgiving:.3f}")

    assert len(result.centroids) == 3
    assert forgiving <= 0.25


def test_files_of_three_real_women_are_three_case_speakers(recognizer, diarizer, women_dir):
    """Diane and Sheila cut out of the call, and the ALSA voice's eight short clips (words
    0.2-0.6 s long, half-second pauses): one speaker per file, three case speakers."""
    recordings = {
        "diane": corpus.call_speaker_file("Diane", women_dir),
        "sheila": corpus.call_speaker_file("Sheila", women_dir),
        "alsa": corpus.alsa_voice_file(women_dir),
    }
    people = {media_id: file_speakers(media_id, recording.path,
                                      diarize(recognizer, diarizer, recording))
              for media_id, recording in recordings.items()}

    assert {media_id: len(speakers) for media_id, speakers in people.items()} == {
        "diane": 1, "sheila": 1, "alsa": 1}  # one voice per file
    case = link_case_speakers([s for speakers in people.values() for s in speakers])
    assert len(case.speakers) == 3
    assert len({case.speaker_of(media_id, "SPEAKER_00") for media_id in people}) == 3
