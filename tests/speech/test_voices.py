"""Voice embeddings: unit vectors, alike for one voice, apart for two."""

from __future__ import annotations

import numpy as np

from aima.speech.voices import VoiceEncoder
from tests.speech import speechgen
from tests.speech.speechgen import VOICE_A, VOICE_B


def test_the_encoder_meets_the_protocol(voice_encoder):
    assert isinstance(voice_encoder, VoiceEncoder)
    assert voice_encoder.model_id == "resemblyzer-0.1.4"
    assert voice_encoder.dimension == 256


def test_one_voice_is_closer_to_itself_than_to_another(voice_encoder):
    first = "The river was cold and very deep. The bridge was closed because of the storm."
    second = "Please turn off the lights when you leave. The bus stops in front of the library."
    a1 = voice_encoder.embed(speechgen.speak(first, VOICE_A))
    a2 = voice_encoder.embed(speechgen.speak(second, VOICE_A))
    b1 = voice_encoder.embed(speechgen.speak(first, VOICE_B))

    for vector in (a1, a2, b1):
        assert vector.shape == (256,)
        assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
    assert a1 @ a2 > 0.8  # same voice, different words
    assert a1 @ b1 < 0.75  # same words, different voice
    assert a1 @ a2 - a1 @ b1 > 0.1


def test_segments_get_one_unit_vector_each(voice_encoder):
    wav = np.concatenate(
        [
            speechgen.speak("The dog barked at the man in the blue coat.", VOICE_A),
            speechgen.silence(0.5),
            speechgen.speak("The dog barked at the man in the blue coat.", VOICE_B),
        ]
    )
    half = len(wav) / 2 / 16_000
    spans = [(0.2, 1.8), (0.5, half - 0.5), (half + 0.5, half + 2.1), (half + 0.5, half + 0.8)]

    embeddings = voice_encoder.embed_segments(wav, spans)

    assert embeddings.shape == (4, 256)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > similarity[0, 2]  # the two A spans are closer than A and B
    assert np.array_equal(voice_encoder.embed_segments(wav, []).shape, (0, 256))
