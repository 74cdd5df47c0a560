"""HTTP to a provider's API: the key in a header only, transient failures retried with backoff.

:class:`JsonApi` is what both providers' ``api_client.py`` share. Transient trouble (connection
refused or reset, a timeout, HTTP 408, 429, 500, 502, 503, 504) is retried ``retries`` times,
waiting ``backoff_s x 2^n`` or the server's ``Retry-After`` (capped at :data:`MAX_RETRY_AFTER_S`),
then raised as :class:`~aima.gpu_providers.base.ProviderUnavailable`. A refusal is never retried:
401/403 raise :class:`~aima.gpu_providers.base.BadCredentials` naming where the key comes from,
other 4xx a :class:`~aima.gpu_providers.base.ProviderError` quoting the server, key blanked out.

Renting is not idempotent: a create whose reply is lost may still have started a machine that
bills by the second. :func:`create_at_most_once` therefore never resends a create blindly; after a
transient failure it first looks for an instance carrying the spec's label and returns that one.

The key stays a ``SecretStr`` until a request header is built; no log line, message or repr
holds it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from aima.gpu_providers.base import (
    BadCredentials, Instance, ProviderError, ProviderUnavailable,
)

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0

logger = logging.getLogger(__name__)
T = TypeVar("T")


class JsonApi:
    """JSON over HTTP to one provider, with the retry policy above."""

    def __init__(self, provider: str, base_url: str, api_key: SecretStr, *, key_hint: str,
                 timeout_s: float = 30.0, connect_timeout_s: float = 10.0, retries: int = 3,
                 backoff_s: float = 1.0):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self._api_key = api_key
        self._key_hint = key_hint
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
                                    headers={"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"<JsonApi {self.provider} at {self.base_url}>"

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, str] | None = None, retries: int | None = None) -> httpx.Response:
        """The response to ``method path`` (status below 400), after retrying transient trouble
        ``retries`` times (default: the client's)."""
        retries = self.retries if retries is None else retries
        url = f"{self.base_url}{path}"
        last: ProviderUnavailable | None = None
        for attempt in range(retries + 1):
            if attempt:
                delay = self.delay(attempt, last.retry_after if last else None)
                logger.warning("%s API: %s (attempt %d of %d); retrying in %.1f s", self.provider,
                               last, attempt, retries + 1, delay)
                time.sleep(delay)
            try:
                return self._send(method, url, json=json, params=params)
            except ProviderUnavailable as exc:
                last = exc
        raise last  # type: ignore[misc]

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try ``attempt + 1``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER_S)
        return self.backoff_s * 2 ** (attempt - 1)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}
        try:
            response = self._client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:  # refused, reset, timed out
            raise ProviderUnavailable(self.provider, f"{type(exc).__name__} reaching "
                                      f"{self.base_url}") from None
        status = response.status_code
        if status < 400:
            return response
        said = self.said(response.text)
        if status in TRANSIENT_STATUS:
            raise ProviderUnavailable(self.provider, f"HTTP {status}{said}", status=status,
                                      retry_after=_retry_after(response))
        if status in (401, 403):
            raise BadCredentials(self.provider, f"the API key was refused (HTTP {status}){said}; "
                                 f"check {self._key_hint}", status=status)
        raise ProviderError(self.provider, f"HTTP {status} from {self.base_url}{said}",
                            status=status)

    def said(self, text: str) -> str:
        """What the server said, short, on one line and with the key blanked out."""
        return f": {self.redact(' '.join(text.split())[:300])}" if text.strip() else ""

    def redact(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        return text.replace(key, "***") if key else text


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def create_at_most_once(api: JsonApi, create: Callable[[], T],
                        find: Callable[[], Instance | None]) -> T | Instance:
    """``create()`` without transport retries; after a transient failure, the instance ``find``
    returns (one the lost reply had started) or else another try, up to ``api.retries``."""
    for attempt in range(api.retries + 1):
        try:
            return create()
        except ProviderUnavailable as exc:
            failure = exc
        found = _find_quietly(api, find)
        if found is not None:
            logger.warning("%s API: %s, but instance %s had started; using it", api.provider,
                           failure, found.instance_id)
            return found
        if attempt < api.retries:
            delay = api.delay(attempt + 1, failure.retry_after)
            logger.warning("%s API: create failed: %s (attempt %d of %d); retrying in %.1f s",
                           api.provider, failure, attempt + 1, api.retries + 1, delay)
            time.sleep(delay)
    raise failure


def _find_quietly(api: JsonApi, find: Callable[[], Instance | None]) -> Instance | None:
    try:
        return find()
    except ProviderError as exc:
        logger.warning("%s API: could not look for an instance a lost reply started: %s",
                       api.provider, exc)
        return None
