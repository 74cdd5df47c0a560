"""Each part of the score: what the report says about one kind of content against the truth.

Every function takes the truth and the report (the JSON of ``aima report CASE``, keys in
docs/report.md) and returns rows ``(name, value, low, high, unit, better, note)``; a value that
cannot be computed is None and the note says why. Files are matched by name; only usable files
(no :class:`~aima.eval.truth.BadInput`) carry content.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aima.eval.metrics import (
    Turn, character_error_rate, diarization_error_rate, match_boxes, pairs_of, purity,
    word_error_rate,
)
from aima.eval.truth import Truth, TruthFile

Row = tuple[str, float | None, float, float | None, str, str, str]
COLLAR_S = 0.25
FACE_IOU = 0.4
CUT_WINDOW_S = 1.0  # bench/bench_keyframes.py: a cut is caught by a keyframe within 1 s after it


class _Index:
    """The report's content per file name (a file whose bytes another file of the case has too
    is that file's media item: its name is in the item's ``also_at``)."""

    def __init__(self, report: dict[str, Any]):
        media = report.get("media", [])
        self.rows = {row["name"]: row for row in media}
        for row in media:
            for source in row.get("also_at") or []:
                self.rows.setdefault(str(source).replace("\\", "/").rsplit("/", 1)[-1], row)
        keyframes: dict[str, list[float]] = defaultdict(list)
        for item in report.get("evidence", []):
            if item.get("kind") == "keyframe":
                keyframes[item.get("media_id")].append(float(item["timestamp_s"]))
        transcripts = {t["media_id"]: t for t in report.get("transcripts", [])}
        faces = {m["media_id"]: m.get("faces", [])
                 for m in (report.get("faces") or {}).get("media", [])}
        text = {m["media_id"]: m.get("lines", []) for m in report.get("text", [])}
        ids = {name: row["id"] for name, row in self.rows.items()}
        self.keyframes = {name: keyframes.get(i, []) for name, i in ids.items()}
        self.transcripts = {name: transcripts[i] for name, i in ids.items() if i in transcripts}
        self.faces = {name: faces[i] for name, i in ids.items() if i in faces}
        self.text = {name: text[i] for name, i in ids.items() if i in text}

    def done(self, file: TruthFile) -> bool:
        row = self.rows.get(file.name)
        return row is not None and row["status"] not in ("failed", "rejected")

    def frames(self, file: TruthFile) -> list[float | None]:
        """The moments AIMA looked at: None for a picture, the keyframes' times for a video."""
        if not self.done(file):
            return []
        return [None] if file.kind == "image" else sorted(self.keyframes.get(file.name, []))


def _shown(item, moment: float | None) -> bool:
    """Whether a face or text of the truth is in the frame at ``moment`` (None: a picture)."""
    if item.start_s is None or moment is None:
        return True
    return item.start_s <= moment < item.end_s


def _row(name, value, low, high, unit, better, note) -> Row:
    return (name, value, low, high, unit, better, note)


# --- speech ------------------------------------------------------------------------------------


def speech(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """WER per language, DER (0.25 s collar) and the speaker-count error."""
    index = _Index(report)
    spoken = [f for f in truth.files if f.usable and f.speech]
    rows: list[Row] = []
    per_language: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    untranscribed = [f.name for f in spoken if f.name not in index.transcripts]
    for file in spoken:
        heard = _assign_words(file, index.transcripts.get(file.name))
        for n, said in enumerate(file.speech):
            per_language[said.language][0].append(said.text)
            per_language[said.language][1].append(" ".join(heard[n]))
    missing = f"; not transcribed (all words missed): {', '.join(untranscribed)}" \
        if untranscribed else ""
    for language in truth.languages():
        references, hypotheses = per_language[language]
        try:
            value, note = word_error_rate(references, hypotheses), (
                f"{len(references)} sentences; words assigned to the sentence they overlap "
                f"most{missing}")
        except (ImportError, ValueError) as exc:
            value, note = None, _why(exc)
        rows.append(_row(f"wer_{language}", value, 0, None, "", "lower", note))

    errors = total = 0.0
    why = "no spoken file in the case" if not spoken else ""
    for file in spoken:
        reference = [Turn(u.start_s, u.end_s, u.speaker) for u in file.speech]
        hypothesis = _turns(index.transcripts.get(file.name))
        try:
            e, t = diarization_error_rate(reference, hypothesis, COLLAR_S)
        except ImportError as exc:
            why = _why(exc)
            break
        errors, total = errors + e, total + t
    der = errors / total if total and not why else None
    rows.append(_row("der", der, 0, None, "", "lower", why or (
        f"missed + false alarm + confusion over {total:.1f} s of reference speech in "
        f"{len(spoken)} files, {COLLAR_S} s collar; AIMA's turns are its transcript segments "
        "with their case speaker")))

    true_speakers = {u.speaker for f in spoken for u in f.speech}
    found = [p for p in report.get("persons", []) if "voice" in p.get("modalities", [])]
    rows.append(_row("speaker_count_error", float(abs(len(found) - len(true_speakers))), 0, None,
                     "count", "lower", f"{len(found)} case speakers found, {len(true_speakers)} "
                     "voices spoke"))
    return rows


def _assign_words(file: TruthFile, transcript: dict | None) -> list[list[str]]:
    """The words heard, per sentence of the truth: each word goes to the sentence its time
    overlaps most (or the nearest one), in time order."""
    heard: list[list[str]] = [[] for _ in file.speech]
    if not transcript:
        return heard
    for segment in transcript.get("segments", []):
        words = segment.get("words") or [{"start": segment["start"], "end": segment["end"],
                                          "word": segment["text"]}]
        for word in words:
            start, end = float(word["start"]), float(word["end"])

            def closeness(n: int) -> tuple[float, float]:
                said = file.speech[n]
                overlap = min(end, said.end_s) - max(start, said.start_s)
                middle = abs((start + end) / 2 - (said.start_s + said.end_s) / 2)
                return (overlap, -middle)

            heard[max(range(len(file.speech)), key=closeness)].append(word["word"])
    return heard


def _turns(transcript: dict | None) -> list[Turn]:
    """Who spoke when, as the report says: each segment with its case speaker, split where its
    words change speaker."""
    turns: list[Turn] = []
    for segment in (transcript or {}).get("segments", []):
        words = segment.get("words") or []
        speakers = {w.get("speaker") for w in words}
        if len(speakers) <= 1:
            turns.append(Turn(float(segment["start"]), float(segment["end"]),
                              str(segment.get("speaker") or "unknown")))
            continue
        for word in words:
            speaker = str(word.get("speaker") or "unknown")
            if turns and turns[-1].speaker == speaker and word["start"] - turns[-1].end < 0.5:
                turns[-1] = Turn(turns[-1].start, float(word["end"]), speaker)
            else:
                turns.append(Turn(float(word["start"]), float(word["end"]), speaker))
    return turns


# --- faces and persons -------------------------------------------------------------------------


def faces_and_persons(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """Face detection recall and precision (IoU >= 0.4), person purity and count error."""
    index = _Index(report)
    shown = hits = found_total = 0
    clusters: dict[str, list[str]] = defaultdict(list)
    frames_seen = 0
    for file in truth.files:
        if not file.usable or file.kind not in ("image", "video"):
            continue
        found_faces = index.faces.get(file.name, [])
        for moment in index.frames(file):
            frames_seen += 1
            true = [f for f in file.faces if _shown(f, moment)]
            found = [f for f in found_faces if moment is None or f.get("timestamp_s") is not None
                     and abs(f["timestamp_s"] - moment) < 1e-3]
            boxes = [_in_truth_pixels(f, file) for f in found]
            pairs = match_boxes([t.box for t in true], boxes, FACE_IOU)
            shown, hits = shown + len(true), hits + len(pairs)
            found_total += len(found)
            for t, f in pairs:
                if found[f].get("person"):
                    clusters[found[f]["person"]].append(true[t].identity)
    where = f"over the {frames_seen} pictures and keyframes AIMA analysed"
    recall = hits / shown if shown else None
    precision = hits / found_total if found_total else None
    rows = [
        _row("face_detection_recall", recall, 0, 1, "", "higher",
             f"{hits} of {shown} faces shown found (IoU >= {FACE_IOU}) {where}" if shown
             else f"no face of the truth is in a frame AIMA analysed ({frames_seen} frames)"),
        _row("face_detection_precision", precision, 0, 1, "", "higher",
             f"{hits} of {found_total} detections are faces of the truth" if found_total
             else "AIMA detected no face"),
    ]
    try:
        value, note = purity(clusters), (f"{sum(map(len, clusters.values()))} matched faces in "
                                         f"{len(clusters)} persons")
    except ValueError:
        value, note = None, "no detected face was put into a person"
    rows.append(_row("person_purity", value, 0, 1, "", "higher", note))
    persons = (report.get("faces") or {}).get("persons", [])
    recurring = truth.recurring_identities()
    rows.append(_row("person_count_error", float(abs(len(persons) - len(recurring))), 0, None,
                     "count", "lower", f"{len(persons)} face persons found, {len(recurring)} "
                     "identities shown at least twice"))
    return rows


def _in_truth_pixels(face: dict, file: TruthFile) -> list[float]:
    """A found face's box scaled from its frame's size to the file's own (keyframes may be
    smaller than the video)."""
    box = face["box"]
    if not face.get("frame_size") or not file.frame_size:
        return box
    sx = file.frame_size[0] / face["frame_size"][0]
    sy = file.frame_size[1] / face["frame_size"][1]
    return [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy]


# --- keyframes ---------------------------------------------------------------------------------


def keyframes(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """Share of scene cuts with a keyframe within 1 s after them; keyframes per video minute."""
    index = _Index(report)
    videos = [f for f in truth.files if f.usable and f.kind == "video"]
    cuts = caught = count = 0
    minutes = 0.0
    missed = []
    for file in videos:
        times = index.keyframes.get(file.name, [])
        for cut in file.scene_cuts_s:
            cuts += 1
            if any(cut - 0.02 <= t <= cut + CUT_WINDOW_S for t in times):
                caught += 1
            else:
                missed.append(f"{file.name} at {cut:g} s")
        count += len(times)
        minutes += (file.duration_s or 0) / 60
    note = f"{caught} of {cuts} cuts followed by a keyframe within {CUT_WINDOW_S:g} s"
    if missed:
        note += f"; missed: {', '.join(missed[:3])}" + (" ..." if len(missed) > 3 else "")
    return [
        _row("keyframe_cut_recall", caught / cuts if cuts else None, 0, 1, "", "higher",
             note if cuts else "no video with a scene cut in the case"),
        _row("keyframes_per_minute", count / minutes if minutes else None, 0, None, "/min", "",
             f"{count} keyframes in {minutes * 60:.1f} s of video (1 fps sampling: 60)"
             if minutes else "no video in the case"),
    ]


# --- text --------------------------------------------------------------------------------------


def ocr(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """Character error rate of the text read in each analysed frame that shows truth text."""
    index = _Index(report)
    references, hypotheses = [], []
    unseen = 0
    for file in truth.files:
        if not file.usable or not file.text:
            continue
        lines = index.text.get(file.name, [])
        moments = index.frames(file)
        seen = set()
        for moment in moments:
            true = sorted((t for t in file.text if _shown(t, moment)), key=lambda t: t.box[1])
            if not true:
                continue
            seen.update(id(t) for t in true)
            read = sorted((line for line in lines if moment is None or line.get("timestamp_s")
                           is not None and abs(line["timestamp_s"] - moment) < 1e-3),
                          key=lambda line: (line["box"][1], line["box"][0]))
            references.append(" ".join(t.text for t in true))
            hypotheses.append(" ".join(line["text"] for line in read))
        for text in file.text:
            if id(text) not in seen:  # shown in no analysed frame: nothing could read it
                references.append(text.text)
                hypotheses.append("")
                unseen += 1
    try:
        value = character_error_rate(references, hypotheses)
        note = (f"{len(references)} frames with text; lines in reading order"
                + (f"; {unseen} lines in no analysed frame count as unread" if unseen else ""))
    except (ImportError, ValueError) as exc:
        value, note = None, _why(exc)
    return [_row("ocr_cer", value, 0, None, "", "lower", note)]


# --- near-duplicates ---------------------------------------------------------------------------


def near_duplicates(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """Pairwise precision and recall of the near-duplicate stacks (pictures and videos)."""
    usable = {f.name for f in truth.files if f.usable and f.kind in ("image", "video")}
    groups: dict[str, list[str]] = defaultdict(list)
    for file in truth.files:
        if file.name in usable and file.duplicate_group:
            groups[file.duplicate_group].append(file.name)
    true_pairs = pairs_of(groups.values())
    stacks = (report.get("near_duplicates") or {}).get("stacks", [])
    names = {row["id"]: row["name"] for row in report.get("media", [])}
    found_pairs = pairs_of([[names.get(m["media_id"], m.get("name")) for m in stack["members"]
                             if names.get(m["media_id"], m.get("name")) in usable]
                            for stack in stacks])
    right = len(true_pairs & found_pairs)
    return [
        _row("near_duplicate_precision", right / len(found_pairs) if found_pairs else None, 0, 1,
             "", "higher", f"{right} of {len(found_pairs)} stacked pairs are copies of each other"
             if found_pairs else "AIMA stacked no pair"),
        _row("near_duplicate_recall", right / len(true_pairs) if true_pairs else None, 0, 1, "",
             "higher", f"{right} of {len(true_pairs)} pairs of copies stacked" if true_pairs
             else "the case holds no near-duplicate pair"),
    ]


# --- bad files ---------------------------------------------------------------------------------


def bad_input(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """Share of files rightly refused or accepted; share of bad files with the right code."""
    index = _Index(report)
    right, missing, wrong, codes, bad, other_codes = 0, [], [], 0, 0, []
    for file in truth.files:
        row = index.rows.get(file.name)
        if row is None:
            missing.append(file.name)
            continue
        refused = row["status"] in ("failed", "rejected")
        right += refused == (file.bad is not None)
        if refused != (file.bad is not None):
            wrong.append(f"{file.name} {row['status']}"
                         + (f" ({row.get('error_code')}: {row.get('error')})" if refused else ""))
        if file.bad is not None:
            bad += 1
            codes += row.get("error_code") == file.bad.code
            if refused and row.get("error_code") != file.bad.code:
                other_codes.append(f"{file.name}: {row.get('error_code')}")
    notes = [f"{right} of {len(truth.files)} files refused when bad and analysed when usable "
             f"({bad} bad)"]
    if wrong:
        notes.append(f"wrong: {'; '.join(wrong[:3])}" + (" ..." if len(wrong) > 3 else ""))
    if missing:
        notes.append(f"{len(missing)} files missing from the report: {', '.join(missing[:5])}")
    return [
        _row("bad_input_accuracy", right / len(truth.files), 0, 1, "", "higher",
             "; ".join(notes)),
        _row("bad_input_code_accuracy", codes / bad if bad else None, 0, 1, "", "higher",
             (f"{codes} of {bad} bad files refused with the expected error_code"
              + (f"; other codes: {', '.join(other_codes[:3])}" if other_codes else ""))
             if bad else "the case holds no bad file"),
    ]


# --- the fused narrative -------------------------------------------------------------------------


def grounding(truth: Truth, report: dict[str, Any]) -> list[Row]:
    """Share of the narrative's claims that cite existing evidence of the case (checked by
    aima.fusion.grounding: ids of this case, of the file, time and person claimed)."""
    narrative = report.get("narrative") or {}
    counts = narrative.get("grounding") or {}
    if narrative.get("status") != "written":
        why = narrative.get("reason") or "the report has no narrative"
        return [_row("grounding_rate", None, 0, 1, "", "higher",
                     f"narrative {narrative.get('status', 'absent')}: {why}")]
    claims, grounded = counts.get("claims", 0), counts.get("grounded", 0)
    known = {item["id"] for item in report.get("evidence", [])}
    cited = [ref for section in ("timeline", "persons", "restraints", "indicators",
                                 "contradictions", "requires_human_review")
             for claim in narrative.get(section, []) for ref in claim.get("evidence", [])]
    cited += narrative.get("summary_evidence", [])
    unknown = [ref for ref in cited if ref not in known]
    check = ("it cites no evidence id" if not cited else f"all {len(cited)} ids it cites exist"
             if not unknown else f"{len(unknown)} of {len(cited)} cited ids do not exist")
    if not claims:
        return [_row("grounding_rate", None, 0, 1, "", "higher",
                     f"the narrative makes no claim ({check})")]
    return [_row("grounding_rate", grounded / claims, 0, 1, "", "higher",
                 f"{grounded} of {claims} claims grounded ({counts.get('dropped', 0)} dropped, "
                 f"{counts.get('ungrounded', 0)} kept unsupported); {check}; model "
                 f"{narrative.get('model_id')}")]


def _why(exc: Exception) -> str:
    if isinstance(exc, ImportError):
        return f"{exc.name or exc} is not installed (pip install 'aima[eval]')"
    return str(exc)
