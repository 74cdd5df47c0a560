"""Where a provider's key and URL come from: the settings first, else its Prefect block (against
a Prefect test harness server), else nowhere, which ``aima gpu offers`` names."""

from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from aima.blocks.providers import (
    RUNPOD_BLOCK, VASTAI_BLOCK, RunPodCredentials, VastAICredentials, provider_credentials,
)
from aima.gpu_providers.cli import gpu_app
from aima.settings import Settings


@pytest.fixture(scope="module", autouse=True)
def prefect_server():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        with prefect_test_harness(server_startup_timeout=120):
            yield


@pytest.fixture(autouse=True)
def no_provider_settings(monkeypatch):
    for name in ("RUNPOD", "VASTAI"):
        for field in ("API_KEY", "API_URL"):
            monkeypatch.delenv(f"AIMA_{name}_{field}", raising=False)


@pytest.mark.parametrize(("provider", "block_class", "block_name", "default_url"), [
    ("runpod", RunPodCredentials, RUNPOD_BLOCK, "https://api.runpod.io"),
    ("vastai", VastAICredentials, VASTAI_BLOCK, "https://console.vast.ai"),
])
def test_the_setting_wins_then_the_block_then_nothing(provider, block_class, block_name,
                                                       default_url):
    assert provider_credentials(Settings(), provider) is None

    block_class(api_key="key-from-block", base_url="http://127.0.0.1:9/block").save(
        block_name, overwrite=True)
    try:
        from_block = provider_credentials(Settings(), provider)
        assert from_block.api_key.get_secret_value() == "key-from-block"
        assert from_block.base_url == "http://127.0.0.1:9/block"
        url_set = provider_credentials(Settings(**{f"{provider}_api_url": "http://h:1/"}),
                                       provider)
        assert (url_set.api_key.get_secret_value(), url_set.base_url) == ("key-from-block",
                                                                          "http://h:1")
        from_setting = provider_credentials(Settings(**{f"{provider}_api_key": "key-set"}),
                                            provider)
        assert from_setting.api_key.get_secret_value() == "key-set"
        assert from_setting.base_url == default_url
        assert "key-from-block" not in repr(block_class.load(block_name))
    finally:
        block_class.delete(block_name)
    assert provider_credentials(Settings(), provider) is None


def test_offers_name_the_provider_without_a_key_and_use_a_block(runpod, vastai):
    env = {"AIMA_VASTAI_API_KEY": vastai.api_key, "AIMA_VASTAI_API_URL": vastai.base_url,
           "COLUMNS": "200"}
    result = CliRunner().invoke(gpu_app, ["offers", "--min-vram", "24"], env=env)
    assert result.exit_code == 0, result.output
    assert ("runpod: no API key; set AIMA_RUNPOD_API_KEY or the RunPodCredentials block "
            "'aima-runpod'") in result.stderr
    assert "│ vastai" in result.stdout and "│ runpod" not in result.stdout

    RunPodCredentials(api_key=runpod.api_key, base_url=runpod.base_url).save(RUNPOD_BLOCK,
                                                                             overwrite=True)
    try:
        result = CliRunner().invoke(gpu_app, ["offers", "--min-vram", "24"], env=env)
    finally:
        RunPodCredentials.delete(RUNPOD_BLOCK)
    assert result.exit_code == 0, result.output
    assert "│ vastai" in result.stdout and "│ runpod" in result.stdout
