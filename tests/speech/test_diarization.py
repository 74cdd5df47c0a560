"""Embedded diarization on a synthetic two-voice dialogue with known turn times."""

from __future__ import annotations

import pytest

from aima.speech.diarization import assign_speakers, merge_spans, sliding_windows, speaker_centroids
from aima.speech.transcript import Segment, SpeakerTurn, Transcript, Word
from tests.speech.scoring import der


def test_two_voices_are_told_apart_with_der_at_most_20_percent(dialogue, dialogue_diarization):
    turns = dialogue_diarization.turns
    strict = der(dialogue.turns, turns, collar=0.0)
    forgiving = der(dialogue.turns, turns, collar=0.25)
    print(f"DER on the dialogue: {strict:.3f} (no collar), {forgiving:.3f} (0.25 s collar)")

    assert strict <= 0.20
    assert {t.speaker for t in turns} == {"SPEAKER_00", "SPEAKER_01"}
    assert turns[0].speaker == "SPEAKER_00"  # labels in order of first appearance


def test_every_word_and_segment_gets_the_speaker_of_its_turn(dialogue, dialogue_diarization):
    transcript = dialogue_diarization.transcript
    voice_of = {}
    for turn in dialogue.turns:  # which label the diarization gave each reference voice
        middle = (turn.start + turn.end) / 2
        label = next(t.speaker for t in transcript.turns if t.start <= middle <= t.end)
        voice_of.setdefault(turn.voice, label)
    assert len(set(voice_of.values())) == 2

    for segment in transcript.segments:
        assert segment.speaker is not None
        assert all(word.speaker is not None for word in segment.words)
        reference = next(t for t in dialogue.turns if t.start - 0.5 <= segment.start <= t.end)
        assert segment.speaker == voice_of[reference.voice]


def test_centroids_are_one_unit_vector_per_speaker(dialogue_diarization, voice_encoder):
    centroids = dialogue_diarization.centroids

    assert set(centroids) == {"SPEAKER_00", "SPEAKER_01"}
    for vector in centroids.values():
        assert vector.shape == (voice_encoder.dimension,)
        assert abs(float(vector @ vector) - 1.0) < 1e-5
    assert float(centroids["SPEAKER_00"] @ centroids["SPEAKER_01"]) < 0.5
    assert voice_encoder.model_id in dialogue_diarization.model_id


def test_centroids_of_turns_made_elsewhere_match_the_diarizers(
    dialogue, dialogue_diarization, voice_encoder
):
    recomputed = speaker_centroids(voice_encoder, dialogue.path, dialogue_diarization.turns)

    for label, vector in dialogue_diarization.centroids.items():
        assert float(recomputed[label] @ vector) > 0.95


def test_a_known_number_of_speakers_is_respected(diarizer, dialogue, dialogue_transcript):
    one = diarizer.diarize(dialogue.path, dialogue_transcript, num_speakers=1)
    assert {t.speaker for t in one.turns} == {"SPEAKER_00"}


def test_long_files_cluster_a_sample_of_windows(voice_encoder, dialogue, dialogue_transcript):
    """Past ``max_clustered_windows``, a sample is clustered; the rest join the nearest cluster."""
    from aima.speech.diarization import EmbeddedDiarizer

    sampled = EmbeddedDiarizer(voice_encoder, max_clustered_windows=30)
    result = sampled.diarize(dialogue.path, dialogue_transcript)

    assert len(result.centroids) == 2
    assert der(dialogue.turns, result.turns, collar=0.0) <= 0.20


def test_no_words_means_no_turns(diarizer, dialogue):
    empty = Transcript(language=None, language_probability=None, duration_s=3.0)
    result = diarizer.diarize(dialogue.path, empty)
    assert result.turns == [] and result.centroids == {}


def test_segments_without_words_are_diarized_by_their_own_times(
    diarizer, dialogue, dialogue_transcript
):
    """An unaligned transcript (whisperx without an alignment model) still gets speakers."""
    unaligned = dialogue_transcript.model_copy(
        update={
            "segments": [s.model_copy(update={"words": []}) for s in dialogue_transcript.segments]
        }
    )
    result = diarizer.diarize(dialogue.path, unaligned)
    assert der(dialogue.turns, result.turns, collar=0.25) <= 0.25


def test_assignment_takes_the_speaker_with_most_overlap():
    words = [
        Word(start=0.0, end=1.0, word="mostly"),  # 0.8 s with A, 0.2 s with B
        Word(start=2.5, end=2.7, word="between"),  # in no turn: C starts 0.4 s away, B ended 0.6 s
        Word(start=5.0, end=5.5, word="late"),  # after every turn: the last one
    ]
    transcript = Transcript(
        language="en",
        language_probability=1.0,
        duration_s=6.0,
        segments=[Segment(start=0.0, end=5.5, text="mostly between late", words=words)],
    )
    turns = [
        SpeakerTurn(start=0.0, end=0.8, speaker="A"),
        SpeakerTurn(start=0.8, end=2.0, speaker="B"),
        SpeakerTurn(start=3.0, end=4.0, speaker="C"),
    ]

    labelled = assign_speakers(transcript, turns)

    assert [w.speaker for w in labelled.segments[0].words] == ["A", "C", "C"]
    assert labelled.segments[0].speaker == "B"  # 1.2 s of B, 1.0 s of C, 0.8 s of A
    assert labelled.turns == turns


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0.0, 1.0, [(0.0, 1.0)]),
        (0.0, 1.6, [(0.0, 1.6)]),
        (0.0, 3.0, [(0.0, 1.6), (0.8, 2.4), (1.4, 3.0)]),
    ],
)
def test_sliding_windows_cover_the_span(start, end, expected):
    windows = sliding_windows(start, end, 1.6, 0.8)
    assert [w for pair in windows for w in pair] == pytest.approx(
        [w for pair in expected for w in pair]
    )


def test_close_spans_merge():
    assert merge_spans([(2.0, 3.0), (0.0, 1.0), (1.2, 1.5)], 0.3) == [(0.0, 1.5), (2.0, 3.0)]


def test_two_equally_long_voices_are_not_taken_for_one():
    """Two balanced voices keep every window near their mean voice (cosine ~0.75 here), which
    alone once made the four-turn espeak-ng dialogue one speaker."""
    import numpy as np

    from aima.speech.clustering import spectral
    from aima.speech.voices import l2_normalise

    rng = np.random.default_rng(0)
    a, b = l2_normalise(rng.normal(size=192)), l2_normalise(rng.normal(size=192))
    b = l2_normalise(b - (b @ a) * a + 0.1 * a)  # the two voices ~0.1 apart in cosine
    windows = l2_normalise(np.vstack([a + 0.35 * rng.normal(size=(6, 192)) / np.sqrt(192),
                                      b + 0.35 * rng.normal(size=(6, 192)) / np.sqrt(192)]))
    labels = spectral(windows, None)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]
    one_voice = l2_normalise(a + 0.35 * rng.normal(size=(12, 192)) / np.sqrt(192))
    assert set(spectral(one_voice, None)) == {0}


def test_one_voice_cut_in_two_by_the_count_estimate_is_joined_again():
    import numpy as np

    from aima.speech.clustering import merge_alike
    from aima.speech.voices import l2_normalise

    rng = np.random.default_rng(1)
    a, b = l2_normalise(rng.normal(size=(2, 192)))
    windows = l2_normalise(np.vstack([a + 0.3 * rng.normal(size=(8, 192)) / np.sqrt(192),
                                      b + 0.3 * rng.normal(size=(4, 192)) / np.sqrt(192)]))
    labels = np.array([0, 0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 1])  # voice a cut into 0 and 2

    merged = merge_alike(windows, labels, 0.6)

    assert set(merged[:8]) == {0} and set(merged[8:]) == {1}
