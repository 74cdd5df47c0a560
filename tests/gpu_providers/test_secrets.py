"""A provider's API key reaches its API's Authorization header and nothing else: no exception's
text or repr, no log line (httpx's debug logging included), no repr of a client, even when the
server quotes the key back in its error replies."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from aima.gpu_providers.base import (
    BadCredentials, Credentials, InstanceSpec, ProviderError, ProviderUnavailable, Requirements,
)
from tests.gpu_providers.conftest import compute_for

SPEC = InstanceSpec(label="aima-leak", image="img", command=["sleep", "30"],
                    env={"PREFECT_API_KEY": "pnu_instance_secret_0123"})


def failures(fake) -> list:
    """Every kind of failure, each with the server quoting the Authorization header back; the
    compute last."""
    fake.faults.echo_auth = True
    compute = compute_for(fake)
    offer = compute.offers(Requirements(min_vram_gb=24))[0]
    caught = []
    fake.fail_creates(1, status=400)
    with pytest.raises(ProviderError) as refused:
        compute.create(offer, SPEC)
    fake.fail_creates(4, status=503)
    with pytest.raises(ProviderUnavailable) as unavailable:
        compute.create(offer, SPEC)
    fake.rate_limit(4)
    with pytest.raises(ProviderUnavailable) as limited:
        compute.offers(Requirements())
    caught += [refused.value, unavailable.value, limited.value]
    for key in (fake.api_key + "-typo", fake.api_key[:-1]):  # keys that contain, or are in, it
        wrong = compute_for(fake, api_key=key)
        with pytest.raises(BadCredentials) as bad:
            wrong.offers(Requirements())
        caught.append(bad.value)
        wrong.close()
    instance = compute.create(offer, SPEC)
    compute.terminate(instance.instance_id)
    caught.append(compute)
    compute.close()
    return caught


@pytest.mark.parametrize("which", ["runpod", "vastai"])
def test_the_api_key_never_appears_in_errors_reprs_or_logs(request, caplog, which):
    caplog.set_level(logging.DEBUG)
    fake = request.getfixturevalue(which)
    caught = failures(fake)
    compute = caught.pop()

    assert "***" in str(caught[0])  # the server did quote a key back, and it was blanked
    texts = [caplog.text, repr(compute), repr(compute.api), repr(compute.client),
             repr(Credentials(api_key=SecretStr(fake.api_key), base_url=fake.base_url))]
    for error in caught:
        texts += [str(error), repr(error), *map(str, error.args)]
    for text in texts:
        assert fake.api_key not in text
        assert fake.api_key[:-1] not in text
    assert any("retrying" in record.message for record in caplog.records)  # logs were written


def test_the_instance_environment_is_never_printed(computes, caplog):
    caplog.set_level(logging.DEBUG)
    secret = SPEC.env["PREFECT_API_KEY"]
    assert secret not in repr(SPEC) and secret not in str(SPEC)
    compute = computes["vastai"]
    instance = compute.create(compute.offers(Requirements())[0], SPEC)
    compute.terminate(instance.instance_id)
    assert secret not in caplog.text and secret not in repr(instance)
