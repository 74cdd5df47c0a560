"""The fuse stage's compute half as a case job: what a gpu-analysis run gets and does.

The parent prepares the stage from its stores, uploads the case report and hands the job only
URLs (``file://`` here: the embedded object store); :func:`aima.pipeline.remote.run_job` writes
the narrative from them alone, and the parent records it like the inline stage.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aima.fusion import DOCUMENT
from aima.pipeline.outcome import StageOutcome
from aima.pipeline.remote import RemoteJob, case_job, read_result, run_job
from aima.pipeline.runner import PreparedCase, complete_case_stage, prepare_case_stage
from aima.stages.fuse import STAGE as FUSE
from tests.fusion.scripted import ScriptedLLM, faithful


def test_the_narrative_is_written_from_a_case_job_and_recorded_by_the_parent(analysed_case):
    stores, case_id = analysed_case.stores, analysed_case.case_id
    llm = ScriptedLLM(faithful, model_id="scripted-remote")
    prepared = prepare_case_stage(stores, FUSE, case_id, models={"llm": llm}.get)
    assert isinstance(prepared, PreparedCase) and llm.calls == []  # nothing asked yet

    made = case_job(stores, FUSE, case_id, prepared.data)
    wire = made.job.model_dump_json()  # what the gpu-analysis run's parameters carry
    job = RemoteJob.model_validate_json(wire)
    assert (job.stage, job.case_id, job.media_id, job.model_kind) == ("fuse", case_id, None, "llm")
    assert job.data == {} and job.data_url.startswith("file://")
    assert "transcripts" not in wire  # the report travels as an object, not as a parameter

    run_job(job, llm)  # the GPU machine's side: URLs in, result out

    outcome = complete_case_stage(
        prepared, read_result(stores.objects, "fuse", job.subject, made.result_key))
    stores.objects.delete_prefix(made.work_prefix)
    assert len(llm.calls) == 1
    assert outcome.status == "done" and outcome.output_ref == "documents:fuse/case"
    assert outcome.data["narrative"] == "written" and outcome.detail.startswith("narrative written")
    document = stores.documents.get(case_id, *DOCUMENT)
    assert document["model_id"] == "scripted-remote" and document["narrative"]["timeline"]
    assert list(stores.objects.list(f"cases/{case_id}/work/fuse/")) == []

    # the same facts and model again: the stored narrative stands, no job is made
    again = prepare_case_stage(stores, FUSE, case_id, models={"llm": llm}.get)
    assert isinstance(again, StageOutcome) and again.reused and again.detail.endswith("(reused)")
    assert len(llm.calls) == 1
    assert stores.documents.get(case_id, *DOCUMENT) == document


def test_a_media_job_reads_as_before_and_a_job_names_what_it_is_for():
    fields = {"stage": "transcribe", "model_kind": "asr", "model_profile": "embedded",
              "params": {}, "data": {}, "inputs": {}, "outputs": {},
              "result_url": "file:///tmp/result.json"}
    media = RemoteJob.model_validate({**fields, "media_id": "m1", "media_type": "audio"})
    assert (media.subject, media.case_id, media.data_url) == ("m1", None, None)
    with pytest.raises(ValidationError, match="names a media item"):
        RemoteJob.model_validate(fields)
