"""The vision-language endpoint's key from a Prefect Secret block (the harness's Prefect server)."""

from __future__ import annotations

import uuid

from prefect.blocks.system import Secret

from aima.blocks.secrets import VLM_API_KEY_BLOCK, vlm_api_key
from aima.models.factory import load_model
from aima.settings import Settings


def test_the_vlm_key_comes_from_the_setting_first_then_the_secret_block():
    assert vlm_api_key(Settings()) is None  # neither set

    value = f"sk-{uuid.uuid4().hex}"
    Secret(value=value).save(VLM_API_KEY_BLOCK, overwrite=True)
    try:
        key = vlm_api_key(Settings())
        assert key.get_secret_value() == value and value not in repr(key) + str(key)
        assert vlm_api_key(Settings(vlm_api_key="sk-setting")).get_secret_value() == "sk-setting"
        model = load_model("vlm", Settings(vlm_endpoint="http://127.0.0.1:9/v1",
                                           vlm_endpoint_model="llava"))
        assert model._api_key.get_secret_value() == value
        assert value not in repr(model) + model.model_id + str(model.parameters)
    finally:
        Secret.delete(VLM_API_KEY_BLOCK)
    assert vlm_api_key(Settings()) is None
