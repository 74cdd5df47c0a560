"""SRT and WebVTT from a diarized transcript."""

from __future__ import annotations

import re

from aima.speech.subtitles import cues, srt_time, to_srt, to_webvtt, vtt_time
from aima.speech.transcript import Segment, Transcript, Word

SRT_TIME = r"\d{2}:\d{2}:\d{2},\d{3}"
VTT_TIME = r"\d{2}:\d{2}:\d{2}\.\d{3}"


def two_speaker_transcript() -> Transcript:
    words = [
        Word(start=0.5, end=0.9, word="Sit", speaker="SPEAKER_00"),
        Word(start=0.9, end=1.4, word="down.", speaker="SPEAKER_00"),
        Word(start=1.8, end=2.2, word="Why?", speaker="SPEAKER_01"),
    ]
    return Transcript(
        language="en",
        language_probability=1.0,
        duration_s=3725.0,
        segments=[
            Segment(start=0.5, end=2.2, text="Sit down. Why?", words=words, speaker="SPEAKER_00"),
            Segment(start=3723.25, end=3724.5, text="A <b> & c --> d", speaker="SPEAKER_01"),
        ],
    )


def test_clock_formats():
    assert srt_time(0) == "00:00:00,000"
    assert srt_time(3723.456) == "01:02:03,456"
    assert vtt_time(3723.456) == "01:02:03.456"
    assert vtt_time(59.9996) == "00:01:00.000"  # rounding carries into the next unit
    assert srt_time(-0.2) == "00:00:00,000"


def test_srt_has_numbered_cues_per_speaker():
    srt = to_srt(two_speaker_transcript(), {"SPEAKER_00": "speaker-1", "SPEAKER_01": "speaker-2"})

    blocks = srt.strip().split("\n\n")
    assert blocks[0] == "1\n00:00:00,500 --> 00:00:01,400\n[speaker-1] Sit down."
    assert blocks[1] == "2\n00:00:01,800 --> 00:00:02,200\n[speaker-2] Why?"
    assert blocks[2] == "3\n01:02:03,250 --> 01:02:04,500\n[speaker-2] A <b> & c --> d"
    for block in blocks:
        number, timing, _ = block.split("\n", 2)
        assert number.isdigit()
        assert re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", timing)


def test_webvtt_has_a_header_and_escaped_text():
    vtt = to_webvtt(two_speaker_transcript())

    assert vtt.startswith("WEBVTT\n\n")
    blocks = vtt.strip().split("\n\n")[1:]
    assert (
        blocks[0] == "00:00:00.500 --> 00:00:01.400\n[SPEAKER_00] Sit down."
    )  # unnamed: local label
    assert blocks[2] == "01:02:03.250 --> 01:02:04.500\n[SPEAKER_01] A &lt;b> &amp; c --&gt; d"
    for block in blocks:
        assert re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", block.split("\n")[0])


def test_long_speech_is_cut_into_readable_cues():
    words = [Word(start=i * 0.5, end=i * 0.5 + 0.4, word=f"word{i}") for i in range(40)]
    transcript = Transcript(
        language="en",
        language_probability=1.0,
        duration_s=20.0,
        segments=[Segment(start=0.0, end=19.9, text=" ".join(w.word for w in words), words=words)],
    )

    result = cues(transcript)

    assert len(result) > 3
    assert all(len(cue.text) <= 84 and cue.end - cue.start <= 7.0 for cue in result)
    assert " ".join(cue.text for cue in result) == transcript.segments[0].text
    assert all(cue.caption() == cue.text for cue in result)  # no speaker: no prefix


def test_subtitles_of_the_diarized_dialogue(dialogue_diarization):
    transcript = dialogue_diarization.transcript
    srt = to_srt(transcript)

    captions = srt.strip().split("\n\n")
    assert len(captions) >= len(transcript.segments)
    assert all(re.match(r"\[SPEAKER_0[01]\] ", block.split("\n")[2]) for block in captions)
    starts = [cue.start for cue in cues(transcript)]
    assert starts == sorted(starts)
