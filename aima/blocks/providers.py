"""Credentials of the rented-GPU providers as Prefect blocks, and where AIMA takes them from.

A user of the Prefect UI keeps a provider's key in a block (Blocks -> RunPod Credentials, named
``aima-runpod``; VastAI Credentials, named ``aima-vastai``); the ``AIMA_RUNPOD_API_KEY`` /
``AIMA_VASTAI_API_KEY`` setting wins over it, so a laptop needs no Prefect server. The base URL
comes from ``AIMA_*_API_URL`` when set, else from the block, else the provider's public API.

The key stays a ``SecretStr`` in the block (the UI masks it) and in
:class:`~aima.gpu_providers.base.Credentials`; nothing here logs or prints it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from aima.gpu_providers.base import PROVIDERS, Compute, Credentials
from aima.gpu_providers.runpod.models import DEFAULT_BASE_URL as RUNPOD_URL
from aima.gpu_providers.vastai.models import DEFAULT_BASE_URL as VASTAI_URL
from aima.settings import Settings

logger = logging.getLogger(__name__)

RUNPOD_BLOCK = "aima-runpod"
VASTAI_BLOCK = "aima-vastai"


class RunPodCredentials(Block):
    """A RunPod API key (console -> Settings -> API Keys) for AIMA's GPU work pools."""

    _block_type_name = "RunPod Credentials"
    _description = "The API key of a RunPod account, used by AIMA's runpod work pools."

    api_key: SecretStr = Field(description="RunPod API key.")
    base_url: str = Field(default=RUNPOD_URL, description="RunPod's API; GraphQL at "
                          "<base_url>/graphql.")


class VastAICredentials(Block):
    """A Vast.ai API key (console -> Account -> API Keys) for AIMA's GPU work pools."""

    _block_type_name = "VastAI Credentials"
    _description = "The API key of a Vast.ai account, used by AIMA's vastai work pools."

    api_key: SecretStr = Field(description="Vast.ai API key.")
    base_url: str = Field(default=VASTAI_URL, description="Vast.ai's API; REST under "
                          "<base_url>/api/v0.")


_SOURCES = {
    "runpod": ("runpod_api_key", "runpod_api_url", RunPodCredentials, RUNPOD_BLOCK, RUNPOD_URL),
    "vastai": ("vastai_api_key", "vastai_api_url", VastAICredentials, VASTAI_BLOCK, VASTAI_URL),
}


def provider_credentials(settings: Settings, provider: str) -> Credentials | None:
    """``provider``'s key and base URL: the settings first, else its block; None if neither."""
    key_field, url_field, block_class, block_name, default_url = _SOURCES[provider]
    url_setting: str | None = getattr(settings, url_field)
    key: SecretStr | None = getattr(settings, key_field)
    if key is not None and key.get_secret_value():
        return Credentials(api_key=key, base_url=url_setting or default_url)
    block = _load(block_class, block_name)
    if block is None:
        return None
    return Credentials(api_key=block.api_key, base_url=url_setting or block.base_url)


def open_computes(settings: Settings, providers: Iterable[str] = PROVIDERS, *,
                  timeout_s: float | None = None,
                  retries: int | None = None) -> tuple[dict[str, Compute], list[str]]:
    """A ``Compute`` for each of ``providers`` that has an API key here (its ``AIMA_*_API_KEY``
    setting or its credentials block), by provider name, and those keys (for the caller to keep
    out of what it writes); the others are left out. The caller closes them. Requests time out
    after ``timeout_s`` and are retried ``retries`` times (default: ``AIMA_GPU_API_TIMEOUT_S``
    and ``AIMA_GPU_API_RETRIES``)."""
    from aima.gpu_providers import open_compute

    computes: dict[str, Compute] = {}
    keys: list[str] = []
    for provider in dict.fromkeys(providers):
        credentials = provider_credentials(settings, provider)
        if credentials is None:
            continue
        keys.append(credentials.api_key.get_secret_value())
        computes[provider] = open_compute(
            provider, credentials,
            timeout_s=settings.gpu_api_timeout_s if timeout_s is None else timeout_s,
            retries=settings.gpu_api_retries if retries is None else retries)
    return computes, keys


def where_keys_come_from(provider: str) -> str:
    """For messages: ``AIMA_RUNPOD_API_KEY or the RunPodCredentials block 'aima-runpod'``."""
    key_field, _, block_class, block_name, _ = _SOURCES[provider]
    return f"AIMA_{key_field.upper()} or the {block_class.__name__} block {block_name!r}"


def _load(block_class: type[Block], name: str) -> Block | None:
    try:
        return block_class.load(name, _sync=True)
    except ValueError:  # no block of that name (or of that type yet)
        return None
    except Exception as exc:  # no reachable Prefect API: the setting is the way then
        logger.info("Prefect block %r not read: %s", name, type(exc).__name__)
        return None
