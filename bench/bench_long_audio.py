"""Long recordings stream: peak memory of the speech path on a 3-hour file against a 10-minute
one, measured in the same run.

Each file is mostly silence with two spoken sentences, one of them in the last minutes, made with
ffmpeg and espeak-ng as FLAC. Each run happens in a fresh process (peak RSS only grows) and goes
the way AIMA does: extract the 16 kHz track (aima.media.audio), transcribe (Whisper base, windows
of ten minutes), diarize (voice windows read forward). Bounded memory means the 3-hour peak stays
close to the 10-minute peak while the time grows with the length.

    .venv/bin/python bench/bench_long_audio.py          # about 2-3 minutes on 2 cores
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_PEAK_RATIO = 1.5  # 3-hour peak RSS / 10-minute peak RSS


def make_file(folder: Path, seconds: int) -> Path:
    first = folder / "first.wav"
    last = folder / "last.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", first,
                    "Please call the office before noon tomorrow."], check=True)
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-w", last,
                    "The boat left the harbour at midnight without lights."], check=True)
    target = folder / f"long-{seconds}.flac"
    subprocess.run([
        "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
        f"anullsrc=r=16000:cl=mono:d={seconds}", "-i", first, "-i", last, "-filter_complex",
        f"[1:a]aresample=16000,adelay={seconds // 3}s:all=1[a];"
        f"[2:a]aresample=16000,adelay={seconds - 100}s:all=1[b];"
        "[0:a][a][b]amix=inputs=3:duration=first:normalize=0", "-c:a", "flac", target,
    ], check=True)
    return target


def measure(path: str) -> dict:
    """Run in a child process: the speech path on one file, with times and peak RSS."""
    from aima.media.audio import extract_audio
    from aima.models.asr import FasterWhisperRecognizer
    from aima.models.voices import ResemblyzerVoiceEncoder
    from aima.speech.diarization import EmbeddedDiarizer

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    recognizer = FasterWhisperRecognizer.embedded()
    diarizer = EmbeddedDiarizer(ResemblyzerVoiceEncoder())
    result = {"models_mib": peak_mib()}
    wav = Path(path).with_suffix(".wav")
    started = time.perf_counter()
    info = extract_audio(Path(path), wav)
    result.update(duration_s=info.duration_s, extract_s=time.perf_counter() - started)
    started = time.perf_counter()
    transcript = recognizer.transcribe(str(wav))
    result["transcribe_s"] = time.perf_counter() - started
    started = time.perf_counter()
    diarization = diarizer.diarize(str(wav), transcript)
    result.update(diarize_s=time.perf_counter() - started, peak_mib=peak_mib(),
                  segments=[(round(s.start, 1), s.text) for s in transcript.segments],
                  speakers=len(diarization.centroids))
    return result


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2])))
        return 0
    results = {}
    with tempfile.TemporaryDirectory(prefix="aima-bench-long-") as tmp:
        for seconds in (600, 3 * 3600):
            path = make_file(Path(tmp), seconds)
            done = subprocess.run([sys.executable, __file__, "--measure", str(path)],
                                  capture_output=True, text=True, check=True)
            results[seconds] = json.loads(done.stdout.strip().splitlines()[-1])
    for seconds, r in results.items():
        print(f"{seconds / 60:5.0f} min file: extract {r['extract_s']:6.1f} s, transcribe "
              f"{r['transcribe_s']:6.1f} s, diarize {r['diarize_s']:5.1f} s; peak RSS "
              f"{r['peak_mib']:6.0f} MiB (models loaded: {r['models_mib']:.0f} MiB); "
              f"{r['speakers']} speakers; segments {r['segments']}")
    ratio = results[3 * 3600]["peak_mib"] / results[600]["peak_mib"]
    print(f"peak RSS 3 h / 10 min: {ratio:.2f} (target <= {TARGET_PEAK_RATIO})")
    late = [s for s in results[3 * 3600]["segments"] if s[0] > 3 * 3600 - 110]
    print(f"last sentence found at {late[0][0] if late else None} s (spoken at {3 * 3600 - 100} s)")
    return 0 if ratio <= TARGET_PEAK_RATIO and late else 1


if __name__ == "__main__":
    sys.exit(main())
