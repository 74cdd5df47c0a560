"""``aima gpu offers`` against the fake providers, configured the way a user does: settings."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aima.gpu_providers.cli import gpu_app

runner = CliRunner()


@pytest.fixture
def env(runpod, vastai):
    return {"AIMA_RUNPOD_API_KEY": runpod.api_key, "AIMA_RUNPOD_API_URL": runpod.base_url,
            "AIMA_VASTAI_API_KEY": vastai.api_key, "AIMA_VASTAI_API_URL": vastai.base_url,
            "AIMA_GPU_API_RETRIES": "0", "COLUMNS": "220"}


def offers(env, *args: str):
    result = runner.invoke(gpu_app, ["offers", *args], env=env)
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    return result, [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]


def test_offers_from_both_providers_cheapest_first(env):
    result, rows = offers(env, "--min-vram", "24")
    assert result.exit_code == 0, result.output
    assert "13 GPU offers, cheapest first" in result.stdout
    assert rows[0] == ["1", "runpod", "1x RTX A5000", "24", "0.160", "on demand", "0.160", "0.110",
                       "-", "-", "community"]
    assert rows[1] == ["2", "vastai", "1x RTX 3090", "24", "0.180", "on demand", "0.180", "0.090",
                       "0.962", "Poland, PL", "community"]
    prices = [float(row[4]) for row in rows]
    assert prices == sorted(prices) and len(rows) == 13


def test_offers_of_one_provider_under_a_price_with_interruptible_rentals(env):
    result, rows = offers(env, "--min-vram", "24", "--provider", "vastai", "--max-price", "0.2",
                          "--interruptible")
    assert result.exit_code == 0, result.output
    assert {row[1] for row in rows} == {"vastai"}
    assert [(row[2], row[4], row[5]) for row in rows] == [
        ("1x RTX 3090", "0.090", "interruptible"), ("1x RTX 4090", "0.180", "interruptible"),
        ("1x RTX 3090", "0.180", "on demand")]  # equal prices: by offer id (7001, 7002)


def test_the_strategy_and_limit_options(env):
    result, rows = offers(env, "--min-vram", "80", "--strategy", "fastest-available",
                          "--limit", "2", "--cloud", "secure")
    assert result.exit_code == 0, result.output
    assert "the first 2 of 4 GPU offers, fastest-available first" in result.stdout
    assert [(row[1], row[2]) for row in rows] == [("vastai", "1x H100 SXM"),
                                                  ("runpod", "1x H100 SXM")]


def test_a_provider_that_does_not_answer_is_named_and_the_other_still_listed(env, runpod):
    result, rows = offers({**env, "AIMA_RUNPOD_API_KEY": "revoked"}, "--min-vram", "24")
    assert result.exit_code == 0, result.output
    assert "runpod: offers not read" in result.stderr and "AIMA_RUNPOD_API_KEY" in result.stderr
    assert "revoked" not in result.output
    assert {row[1] for row in rows} == {"vastai"}


def test_bad_options_and_settings_exit_with_status_2(env):
    assert runner.invoke(gpu_app, ["offers", "--provider", "aws"], env=env).exit_code == 2
    result = runner.invoke(gpu_app, ["offers"], env={**env, "AIMA_VASTAI_API_URL": "ftp://x"})
    assert result.exit_code == 2 and "AIMA_VASTAI_API_URL" in result.stderr


def test_no_offer_fits(env):
    result, rows = offers(env, "--min-vram", "200")
    assert result.exit_code == 0 and rows == [] and "no offer fits" in result.stdout
