"""Secrets from Prefect Secret blocks (against the test harness's Prefect server)."""

from __future__ import annotations

import uuid

from prefect.blocks.system import Secret

from aima.blocks.secrets import HF_TOKEN_BLOCK, hf_token
from aima.settings import Settings


def test_the_hf_token_comes_from_the_setting_first_then_the_secret_block():
    assert hf_token(Settings()) is None  # neither set

    value = f"hf_{uuid.uuid4().hex}"
    Secret(value=value).save(HF_TOKEN_BLOCK, overwrite=True)
    try:
        assert hf_token(Settings()) == value
        assert hf_token(Settings(hf_token="hf_from_setting")) == "hf_from_setting"
    finally:
        Secret.delete(HF_TOKEN_BLOCK)
    assert hf_token(Settings()) is None
