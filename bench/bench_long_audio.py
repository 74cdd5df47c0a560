"""Long recordings: peak memory and speed of the speech path on long files, each against a
10-minute baseline measured in the same run.

Two kinds of input, both made in a temporary directory:

1. **Continuous speech** (``--minutes``, default 60, against a 10-minute file from the same
   generator): scenes of two to four speakers talking in turn (0.2-1.0 s pauses), 26 espeak-ng
   voices (16 English accents and variants, and German, French, Spanish, Italian, Portuguese,
   Dutch and Polish voices that join about every third scene), with the 27 recorded clips of
   ``pytest-audioeval`` (9 languages) played between scenes. The file is generated turn by turn
   into one ffmpeg process (16 kHz PCM on its stdin, FLAC out), so generation holds one turn in
   memory whatever the length. The reference (who speaks when, and what) is kept beside it.
2. **Silence** (10 minutes and 3 hours) with one sentence at a third of the length and one 100 s
   before the end: the long quiet recordings of surveillance and body cameras.

Each file goes through the speech path in a fresh process (peak RSS only grows), the way AIMA
does: extract the 16 kHz track (aima.media.audio), transcribe (Whisper base, windows of ten
minutes), diarize (voice windows read forward). Printed per file: the times, the real-time
factors (wall time / audio time) of transcription and diarization, the peak RSS; for speech also
the word error rate on the English espeak-ng turns (recognised words matched to turns by their
timestamps) and the DER (pyannote.metrics, no collar) against the reference, beside the DER of
"one speaker for everything" on the same turns.

Targets (exit 1 when missed): peak RSS of the long file / its 10-minute baseline <= 1.5 (memory
bounded), for speech and for silence; the real-time factor of transcription and of diarization of
the long speech file / the 10-minute one <= 1.5 (time linear in the length); the late sentence of
the 3-hour file is found.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_long_audio               # ~15 min on 2 cores
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_long_audio --minutes 20  # shorter
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_long_audio --no-silent   # speech only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._result import print_result  # noqa: E402

TARGET_PEAK_RATIO = 1.5  # long file's peak RSS / its 10-minute baseline's
TARGET_RTF_RATIO = 1.5  # long speech file's real-time factor / the 10-minute speech file's
RATE = 16_000

#: English voices: accents of espeak-ng and its voice variants (male, female, klatt, named)
ENGLISH_VOICES = [
    "en-us", "en-us+f3", "en-gb", "en-gb+f2", "en-gb-scotland", "en-gb-x-rp+m3", "en-029+f4",
    "en-us-nyc+m7", "en-gb-x-gbclan+klatt", "en-us+Andy", "en-gb+belinda", "en-us+david",
    "en-gb-x-gbcwmd+f5", "en-us+m1", "en-gb+antonio", "en-us+steph",
]
#: voices of other languages, with what they say
OTHER_VOICES = {
    "de": ["de", "de+f3"],
    "fr": ["fr-fr", "fr-fr+m3"],
    "es": ["es", "es-419+f2"],
    "it": ["it+f4"],
    "pt": ["pt-br"],
    "nl": ["nl+m2"],
    "pl": ["pl+f1"],
}
OTHER_SENTENCES = {
    "de": ["Der Zug nach Hamburg hatte heute Morgen eine Stunde Verspätung.",
           "Ich habe den Schlüssel auf dem Küchentisch liegen lassen.",
           "Wir treffen uns am Freitag vor dem Rathaus.",
           "Das Wetter wird am Wochenende kalt und regnerisch.",
           "Er hat die Tür nicht abgeschlossen, als er ging."],
    "fr": ["Le train pour Marseille est parti avec trente minutes de retard.",
           "Elle a laissé son sac dans la voiture de son frère.",
           "Nous avons attendu devant la gare jusqu'à minuit.",
           "Le bateau a quitté le port sans lumière.",
           "Je vous enverrai le rapport demain matin."],
    "es": ["El autobús llegó tarde otra vez esta mañana.",
           "Mi hermana trabaja en el hospital del centro.",
           "Dejamos el coche cerca del puerto antes de la cena.",
           "Nadie contestó cuando llamé a la puerta.",
           "La tienda cierra temprano los días festivos."],
    "it": ["Il treno per Roma è partito in ritardo.",
           "Abbiamo lasciato la macchina vicino al porto.",
           "Mio fratello lavora in ospedale da dieci anni.",
           "Nessuno ha risposto quando ho bussato alla porta."],
    "pt": ["O navio saiu do porto sem luzes à meia-noite.",
           "Ela deixou as chaves em cima da mesa da cozinha.",
           "Nós vamos nos encontrar na sexta-feira de manhã.",
           "O médico disse que os resultados estão normais."],
    "nl": ["De trein naar Amsterdam had vanochtend vertraging.",
           "Hij heeft de deur gisteravond niet op slot gedaan.",
           "We hebben tot middernacht bij het station gewacht.",
           "De winkel gaat op feestdagen vroeg dicht."],
    "pl": ["Pociąg do Warszawy spóźnił się dziś rano.",
           "Zostawiłem klucze na stole w kuchni.",
           "Spotkamy się w piątek przed dworcem.",
           "Nikt nie otworzył drzwi, kiedy zapukałem."],
}
EXTRA_ENGLISH = [
    "The boat left the harbour at midnight without lights.",
    "I parked the van behind the warehouse around nine.",
    "Two men were standing near the gate when the alarm went off.",
    "She said she had never seen that bag before.",
    "The camera above the entrance was pointing at the wall.",
    "We called the number twice but nobody picked up.",
    "He was wearing a dark jacket and a grey cap.",
    "The lights in the office were still on after midnight.",
    "I heard a car door slam and then footsteps.",
    "The manager asked everyone to leave through the back exit.",
    "They loaded the boxes onto a white truck.",
    "My phone battery died before I could send the message.",
]


# --- generation (parent process) -------------------------------------------------------------


def _pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _recorded_clips() -> list[tuple[str, str, np.ndarray]]:
    """(language, reference text, 16 kHz samples) of pytest-audioeval's clips; [] if absent."""
    try:
        from pytest_audioeval.samples.registry import SampleRegistry
    except ImportError:
        return []
    from tests.speech import speechgen

    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for sample in SampleRegistry().all():
            out = Path(tmp) / "clip.wav"
            speechgen.run("sox", "-R", sample.audio_path, "-r", str(RATE), "-c", "1", "-b", "16",
                          out)
            import soundfile as sf

            samples, _ = sf.read(out, dtype="float32")
            clips.append((sample.lang.value, sample.reference_text, samples))
    return clips


def make_speech_file(folder: Path, seconds: float, seed: int = 11) -> tuple[Path, Path]:
    """Continuous many-voice speech of at least ``seconds``, streamed into ffmpeg as FLAC.

    Returns the FLAC file and a JSON file with the reference turns
    ``[start, end, speaker, language, kind, text]`` (kind: ``espeak`` or ``recorded``).
    """
    from tests.speech import speechgen

    rng = random.Random(seed)
    english = speechgen.SENTENCES + speechgen.DIALOGUE + EXTRA_ENGLISH
    speeds = {voice: rng.randrange(140, 176, 5)
              for voice in ENGLISH_VOICES + [v for vs in OTHER_VOICES.values() for v in vs]}
    clips = _recorded_clips()
    rng.shuffle(clips)
    target = folder / f"speech-{int(seconds)}.flac"
    ffmpeg = subprocess.Popen(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "s16le", "-ar", str(RATE), "-ac", "1",
         "-i", "-", "-c:a", "flac", str(target)],
        stdin=subprocess.PIPE,
    )
    turns: list[list] = []
    position = 0.0

    def emit(samples: np.ndarray, speaker: str | None = None, language: str = "",
             kind: str = "", text: str = "") -> None:
        nonlocal position
        ffmpeg.stdin.write(_pcm(samples))
        duration = len(samples) / RATE
        if speaker is not None:
            turns.append([round(position, 3), round(position + duration, 3), speaker, language,
                          kind, text])
        position += duration

    emit(speechgen.silence(0.5))
    scene = 0
    while position < seconds:
        # a scene: 2-4 speakers, 25-60 turns; about every third one has a foreign speaker
        cast = rng.sample(ENGLISH_VOICES, rng.randint(2, 3))
        languages = {voice: "en" for voice in cast}
        if scene % 3 == 2:
            language = rng.choice(sorted(OTHER_VOICES))
            voice = rng.choice(OTHER_VOICES[language])
            cast.append(voice)
            languages[voice] = language
        previous = None
        for _ in range(rng.randint(25, 60)):
            if position >= seconds:
                break
            voice = rng.choice([v for v in cast if v != previous] or cast)
            previous = voice
            pool = english if languages[voice] == "en" else OTHER_SENTENCES[languages[voice]]
            text = " ".join(rng.sample(pool, rng.randint(1, 3)))
            emit(speechgen.speak(text, voice, speeds[voice]), voice, languages[voice], "espeak",
                 text)
            emit(speechgen.silence(rng.uniform(0.2, 1.0)))
        # between scenes: two recorded clips (each a speaker of its own language)
        for k in range(2):
            if clips and position < seconds:
                language, text, samples = clips[(scene * 2 + k) % len(clips)]
                emit(samples, f"recorded-{language}", language, "recorded", text)
                emit(speechgen.silence(rng.uniform(0.3, 1.0)))
        scene += 1
    ffmpeg.stdin.close()
    if ffmpeg.wait() != 0:
        raise RuntimeError("ffmpeg failed to write the speech file")
    reference = target.with_suffix(".json")
    reference.write_text(json.dumps(turns))
    return target, reference


def make_silent_file(folder: Path, seconds: int) -> Path:
    first = folder / "first.wav"
    last = folder / "last.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", first,
                    "Please call the office before noon tomorrow."], check=True)
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-w", last,
                    "The boat left the harbour at midnight without lights."], check=True)
    target = folder / f"silent-{seconds}.flac"
    subprocess.run([
        "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
        f"anullsrc=r=16000:cl=mono:d={seconds}", "-i", first, "-i", last, "-filter_complex",
        f"[1:a]aresample=16000,adelay={seconds // 3}s:all=1[a];"
        f"[2:a]aresample=16000,adelay={seconds - 100}s:all=1[b];"
        "[0:a][a][b]amix=inputs=3:duration=first:normalize=0", "-c:a", "flac", target,
    ], check=True)
    return target


# --- measurement (child process) -------------------------------------------------------------


def measure(path: str, reference: str | None) -> dict:
    """The speech path on one file, with times and peak RSS; scores against ``reference``."""
    from aima.media.audio import extract_audio
    from aima.models.asr import FasterWhisperRecognizer
    from aima.models.voices import ResemblyzerVoiceEncoder
    from aima.speech.diarization import EmbeddedDiarizer

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    recognizer = FasterWhisperRecognizer.embedded()
    diarizer = EmbeddedDiarizer(ResemblyzerVoiceEncoder())
    # warm-up on 3 s of speech: one-time start-up costs (weights paged in, kernels compiled) are
    # not the file's; its peak is the floor every file starts from
    from tests.speech import speechgen

    warm = speechgen.speak("Please call the office before noon tomorrow.")
    diarizer.diarize(warm, recognizer.transcribe(warm))
    result = {"models_mib": peak_mib()}
    wav = Path(path).with_suffix(".wav")
    started = time.perf_counter()
    info = extract_audio(Path(path), wav)
    result.update(duration_s=info.duration_s, extract_s=time.perf_counter() - started)
    started, cpu = time.perf_counter(), time.process_time()
    transcript = recognizer.transcribe(str(wav))
    result.update(transcribe_s=time.perf_counter() - started,
                  transcribe_cpu_s=time.process_time() - cpu)
    started, cpu = time.perf_counter(), time.process_time()
    diarization = diarizer.diarize(str(wav), transcript)
    result.update(diarize_s=time.perf_counter() - started,
                  diarize_cpu_s=time.process_time() - cpu, peak_mib=peak_mib(),
                  language=transcript.language, words=len(transcript.words),
                  speakers=len(diarization.centroids))
    wav.unlink()
    if reference:
        result.update(score(json.loads(Path(reference).read_text()), transcript, diarization))
    else:
        result["segments"] = [(round(s.start, 1), s.text) for s in transcript.segments]
    return result


def score(turns: list[list], transcript, diarization) -> dict:
    """WER on the English espeak-ng turns; DER of the diarization and of one speaker for all."""
    import bisect

    import jiwer

    from tests.speech.scoring import der, normalise
    from tests.speech.speechgen import Turn

    starts = [turn[0] for turn in turns]
    heard: list[list[str]] = [[] for _ in turns]
    for word in transcript.words:  # each word goes to the turn its middle falls in (or nearest)
        middle = (word.start + word.end) / 2
        k = bisect.bisect_right(starts, middle) - 1
        near = [j for j in (k, k + 1) if 0 <= j < len(turns)]
        best = min(near, key=lambda j: max(turns[j][0] - middle, middle - turns[j][1], 0.0))
        if max(turns[best][0] - middle, middle - turns[best][1]) <= 0.3:
            heard[best].append(word.word)
    english = [j for j, turn in enumerate(turns) if turn[3] == "en" and turn[4] == "espeak"]
    refs = [normalise(turns[j][5]) for j in english]
    hyps = [normalise(" ".join(heard[j])) for j in english]
    reference = [Turn(t[0], t[1], t[2]) for t in turns]
    hypothesis = diarization.turns
    one = [Turn(t.start, t.end, "everyone") for t in hypothesis]
    speech_s = sum(t[1] - t[0] for t in turns)
    return {
        "wer_english": jiwer.wer(refs, hyps),
        "english_turns": len(english),
        "der": der(reference, hypothesis, 0.0),
        "der_one_speaker": der(reference, one, 0.0),
        "reference_speakers": len({t[2] for t in turns}),
        "speech_share": speech_s / max(t[1] for t in turns),
        "english_share": sum(turns[j][1] - turns[j][0] for j in english) / speech_s,
    }


# --- driver ----------------------------------------------------------------------------------


def run_child(path: Path, reference: Path | None) -> dict:
    command = [sys.executable, __file__, "--measure", str(path)]
    if reference:
        command += ["--reference", str(reference)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {path.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(name: str, r: dict) -> str:
    line = (f"{name:22} {r['duration_s'] / 60:6.1f} min  extract {r['extract_s']:6.1f} s  "
            f"transcribe {r['transcribe_s']:7.1f} s (RTF {r['transcribe_s'] / r['duration_s']:.3f},"
            f" CPU {r['transcribe_cpu_s']:.0f} s)  diarize {r['diarize_s']:6.1f} s (RTF "
            f"{r['diarize_s'] / r['duration_s']:.3f}, CPU {r['diarize_cpu_s']:.0f} s)  peak RSS "
            f"{r['peak_mib']:5.0f} MiB (models + warm-up {r['models_mib']:.0f})  "
            f"{r['words']} words, "
            f"{r['speakers']} speakers, language {r['language']}")
    if "der" in r:
        line += (f"\n{'':22} WER English turns {r['wer_english']:.3f} ({r['english_turns']} turns)"
                 f"  DER {r['der']:.3f} (one speaker for all: {r['der_one_speaker']:.3f})  "
                 f"{r['reference_speakers']} voices in the reference; speech "
                 f"{r['speech_share']:.0%} of the time, English espeak {r['english_share']:.0%}"
                 " of the speech")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60,
                        help="length of the continuous-speech file (default 60)")
    parser.add_argument("--baseline-minutes", type=float, default=10,
                        help="length of the speech baseline file (default 10)")
    parser.add_argument("--no-silent", action="store_true", help="skip the silent files")
    parser.add_argument("--no-speech", action="store_true", help="skip the speech files")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.reference)))
        return 0

    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    failed = []
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="aima-bench-long-") as tmp:
        folder = Path(tmp)
        if not args.no_speech:
            speech = {}
            for minutes in (args.baseline_minutes, args.minutes):
                started = time.perf_counter()
                path, reference = make_speech_file(folder, minutes * 60)
                made_s = time.perf_counter() - started
                print(f"made {minutes:g} min of speech in {made_s:.0f} s "
                      f"({path.stat().st_size / 2**20:.0f} MiB FLAC)", flush=True)
                speech[minutes] = run_child(path, reference)
                print(describe(f"speech {minutes:g} min", speech[minutes]), flush=True)
                path.unlink()
            base, long = speech[args.baseline_minutes], speech[args.minutes]
            peak = long["peak_mib"] / base["peak_mib"]
            rtf_asr = (long["transcribe_s"] / long["duration_s"]) / (
                base["transcribe_s"] / base["duration_s"])
            rtf_diar = (long["diarize_s"] / long["duration_s"]) / (
                base["diarize_s"] / base["duration_s"])
            label = f"{args.minutes:g} / {args.baseline_minutes:g} min speech"
            print(f"peak RSS {label}: {peak:.2f} (target <= {TARGET_PEAK_RATIO})")
            print(f"transcription RTF {label}: {rtf_asr:.2f} (target <= {TARGET_RTF_RATIO})")
            print(f"diarization RTF {label}: {rtf_diar:.2f} (target <= {TARGET_RTF_RATIO})")
            figures |= {"speech_peak_ratio": peak, "speech_transcribe_rtf_ratio": rtf_asr,
                        "speech_diarize_rtf_ratio": rtf_diar,
                        "speech_long_peak_mib": long["peak_mib"]}
            failed += [name for name, value, target in (
                ("speech peak RSS", peak, TARGET_PEAK_RATIO),
                ("transcription RTF", rtf_asr, TARGET_RTF_RATIO),
                ("diarization RTF", rtf_diar, TARGET_RTF_RATIO)) if value > target]
        if not args.no_silent:
            silent = {}
            for seconds in (600, 3 * 3600):
                path = make_silent_file(folder, seconds)
                silent[seconds] = run_child(path, None)
                print(describe(f"silence {seconds // 60} min", silent[seconds]), flush=True)
                path.unlink()
            ratio = silent[3 * 3600]["peak_mib"] / silent[600]["peak_mib"]
            print(f"peak RSS 3 h / 10 min silence: {ratio:.2f} (target <= {TARGET_PEAK_RATIO})")
            late = [s for s in silent[3 * 3600]["segments"] if s[0] > 3 * 3600 - 110]
            print(f"late sentence found at {late[0][0] if late else None} s "
                  f"(spoken at {3 * 3600 - 100} s); segments {silent[3 * 3600]['segments']}")
            failed += ["silence peak RSS"] * (ratio > TARGET_PEAK_RATIO) + ["late sentence"] * (
                not late)
            figures |= {"silence_peak_ratio": ratio, "late_sentence_found": bool(late)}
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    headline = "speech_peak_ratio" if "speech_peak_ratio" in figures else "silence_peak_ratio"
    print_result(figures.get(headline), f"peak RSS, long file / short file ({headline[:-6]})",
                 f"peak RSS and real-time-factor ratios <= {TARGET_PEAK_RATIO}", not failed,
                 **figures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
