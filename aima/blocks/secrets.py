"""Secrets AIMA reads from Prefect Secret blocks when no setting gives them.

Users of the Prefect UI keep credentials in blocks (Blocks -> Secret); the same value in an
``AIMA_*`` setting wins, so a laptop run needs no Prefect server at all.
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from aima.settings import Settings

logger = logging.getLogger(__name__)

HF_TOKEN_BLOCK = "aima-hf-token"
VLM_API_KEY_BLOCK = "aima-vlm-api-key"


def hf_token(settings: Settings) -> str | None:
    """The Hugging Face token: ``AIMA_HF_TOKEN``, else the Secret block ``aima-hf-token``."""
    if settings.hf_token is not None:
        return settings.hf_token.get_secret_value()
    return _secret_block(HF_TOKEN_BLOCK)


def vlm_api_key(settings: Settings) -> SecretStr | None:
    """The vision-language endpoint's key: ``AIMA_VLM_API_KEY``, else the Secret block
    ``aima-vlm-api-key``; kept a ``SecretStr`` so that printing it shows no key."""
    if settings.vlm_api_key is not None:
        return settings.vlm_api_key
    value = _secret_block(VLM_API_KEY_BLOCK)
    return SecretStr(value) if value else None


def _secret_block(name: str) -> str | None:
    from prefect.blocks.system import Secret

    try:
        return Secret.load(name, _sync=True).get()
    except ValueError:  # no block of that name
        return None
    except Exception as exc:  # no reachable Prefect API: the setting is the way then
        logger.info("Prefect Secret block %r not read: %s", name, type(exc).__name__)
        return None
