"""Secrets AIMA reads from Prefect Secret blocks when no setting gives them.

Users of the Prefect UI keep credentials in blocks (Blocks -> Secret); the same value in an
``AIMA_*`` setting wins, so a laptop run needs no Prefect server at all.
"""

from __future__ import annotations

import logging

from aima.settings import Settings

logger = logging.getLogger(__name__)

HF_TOKEN_BLOCK = "aima-hf-token"


def hf_token(settings: Settings) -> str | None:
    """The Hugging Face token: ``AIMA_HF_TOKEN``, else the Secret block ``aima-hf-token``."""
    if settings.hf_token is not None:
        return settings.hf_token.get_secret_value()
    return _secret_block(HF_TOKEN_BLOCK)


def _secret_block(name: str) -> str | None:
    from prefect.blocks.system import Secret

    try:
        return Secret.load(name, _sync=True).get()
    except ValueError:  # no block of that name
        return None
    except Exception as exc:  # no reachable Prefect API: the setting is the way then
        logger.info("Prefect Secret block %r not read: %s", name, type(exc).__name__)
        return None
