"""Voice embeddings: unit vectors, alike for one voice, apart for two, real voices included."""

from __future__ import annotations

import numpy as np

from aima.speech.voices import VoiceEncoder
from tests.speech import speechgen
from tests.speech.speechgen import VOICE_A, VOICE_B


def test_the_encoder_meets_the_protocol(voice_encoder):
    assert isinstance(voice_encoder, VoiceEncoder)
    assert voice_encoder.model_id == "ecapa-voxceleb-0575cb64"
    assert voice_encoder.dimension == 192


def test_one_voice_is_closer_to_itself_than_to_another(voice_encoder):
    first = "The river was cold and very deep. The bridge was closed because of the storm."
    second = "Please turn off the lights when you leave. The bus stops in front of the library."
    a1 = voice_encoder.embed(speechgen.speak(first, VOICE_A))
    a2 = voice_encoder.embed(speechgen.speak(second, VOICE_A))
    b1 = voice_encoder.embed(speechgen.speak(first, VOICE_B))

    for vector in (a1, a2, b1):
        assert vector.shape == (192,)
        assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
    assert a1 @ a2 > 0.7  # same voice, different words
    assert a1 @ b1 < 0.4  # same words, different voice
    assert a1 @ a2 - a1 @ b1 > 0.3


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

    assert embeddings.shape == (4, 192)
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert similarity[0, 1] > similarity[0, 2]  # the two A spans are closer than A and B
    assert np.array_equal(voice_encoder.embed_segments(wav, []).shape, (0, 192))


def test_two_real_women_on_a_phone_call_are_told_apart(voice_encoder, tmp_path):
    """Pieces of one woman's speech are closer to each other than to the other woman's
    (Resemblyzer scored the two women as alike as one woman with herself)."""
    from tests.speech import corpus

    pieces = {}
    for speaker in corpus.CALL_SPEAKERS.values():
        recording = corpus.call_speaker_file(speaker, tmp_path)
        half = len(recording.turns) // 2
        pieces[speaker] = [
            voice_encoder.embed_segments(
                *_samples_and_spans(recording.path, recording.turns[part]))
            .mean(axis=0) for part in (slice(0, half), slice(half, None))
        ]
    unit = {k: [v / np.linalg.norm(v) for v in vs] for k, vs in pieces.items()}
    same = [float(unit[k][0] @ unit[k][1]) for k in unit]
    diane, sheila = unit["Diane"], unit["Sheila"]
    different = [float(d @ s) for d in diane for s in sheila]
    assert min(same) > max(different)


def _samples_and_spans(path, turns):
    import soundfile

    samples, _ = soundfile.read(path, dtype="float32")
    return samples, [(t.start, t.end) for t in turns]


def test_the_network_is_speechbrains_ecapa(voice_encoder):
    """The checkpoint loads into AIMA's network with every parameter matched (strict), and the
    file is the published one."""
    from aima.models.voices import ECAPA_SHA256, ecapa_checkpoint

    voice_encoder.load()
    parameters = sum(p.numel() for p in voice_encoder._network.parameters())
    assert parameters > 20_000_000  # ECAPA-TDNN C=1024: about 20.8 M
    assert ecapa_checkpoint().name == "embedding_model.ckpt"
    assert voice_encoder.model_id.endswith(ECAPA_SHA256[:8])
