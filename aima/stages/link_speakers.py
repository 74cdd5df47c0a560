"""Link speakers (case stage): the voices of all files of a case clustered into case speakers.

Case speakers are ``speaker-1``, ``speaker-2``, ... and keep their ids across reruns and when files
are added to the case. Output: a ``speakers`` document (members, turns and the assignment of every
file's local label to a case speaker) and one case person per speaker, whose voice appearances
cite the transcript segments they rest on. Two speakers that may be one voice (a score between
the candidate and the link threshold) stay apart and are listed under ``candidates`` with their
score. Case speakers tell voices apart within one case; they never identify anyone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from aima import evidence
from aima.persons import Appearance, LinkedPerson, replace_persons
from aima.speech.speakers import FileSpeaker, carry_over_ids, link_case_speakers
from aima.speech.transcript import SpeakerTurn
from aima.stages.base import CaseStage, StageContext, Summary
from aima.stages.diarize import VOICE
from aima.storage.models import MediaItem


class LinkSpeakers(CaseStage):
    name = "link-speakers"
    needs = ("diarize",)
    model = "voices"
    description = "the case's voices clustered into case speakers, each a case person"

    def run(self, ctx: StageContext, case_id: str, model: Any) -> Summary:
        stores = ctx.stores
        diarized = {d.media_id: d.data for d in stores.documents.query(case_id, stage="diarize")}
        embeddings = stores.vectors.fetch(VOICE, model.model_id, case_id, model.dimension)
        with stores.metadata.session() as session:
            hashes = {str(i.id): i.sha256 for i in session.scalars(
                select(MediaItem).where(MediaItem.case_id == uuid.UUID(case_id)))}
        file_speakers = []
        for embedding in embeddings:
            media_id, label = embedding.id.rsplit(":", 1)
            if media_id not in diarized or media_id not in hashes:
                continue  # a media item diarized by another voice model, or gone
            turns = [SpeakerTurn(**t) for t in diarized[media_id]["turns"] if t["speaker"] == label]
            file_speakers.append(FileSpeaker(media_id, hashes[media_id], label,
                                             embedding.vector, turns))
        earlier = stores.documents.get(case_id, "speakers", "case") or {}
        previous = {tuple(key.rsplit(":", 1)): sid
                    for key, sid in earlier.get("assignments", {}).items()}
        linked = carry_over_ids(link_case_speakers(file_speakers), previous)
        document = {
            "voice_model": model.model_id,
            "speakers": [
                {"id": s.speaker_id,
                 "members": [{"media_id": m, "label": label} for m, label in s.members],
                 "turns": {m: [t.model_dump() for t in turns] for m, turns in s.turns.items()}}
                for s in linked.speakers
            ],
            "assignments": {f"{m}:{label}": sid for (m, label), sid in linked.assignments.items()},
            # possibly one voice, not merged: for a person to judge
            "candidates": [{"speakers": list(c.speakers), "score": c.score}
                           for c in linked.candidates],
        }
        stores.documents.put(case_id, "speakers", "case", document)
        replace_persons(stores.metadata, case_id, VOICE, [
            LinkedPerson(
                key=speaker["id"], label=f"Speaker {speaker['id'].rsplit('-', 1)[-1]}",
                appearances=[
                    Appearance(media_id, turn["start"], turn["end"], evidence.overlapping_segments(
                        media_id, diarized[media_id].get("segments", []), turn["start"],
                        turn["end"]))
                    for media_id, turns in speaker["turns"].items() for turn in turns
                ])
            for speaker in document["speakers"]
        ])
        count, uncertain = len(document["speakers"]), len(document["candidates"])
        detail = f"{count} case speakers" + (f", {uncertain} possible links" if uncertain else "")
        return Summary(detail=detail, data={"speakers": count, "candidates": uncertain})


STAGE = LinkSpeakers()
