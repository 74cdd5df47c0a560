"""Vast.ai's REST API under ``{base}/api/v0``, ``Authorization: Bearer KEY``.

``POST /bundles/`` searches offers with a filter document, ``PUT /asks/{offer id}/`` rents one
(``{"success": true, "new_contract": ID}``), ``GET /instances/`` and ``GET /instances/{id}/``
report instances, ``DELETE /instances/{id}/`` destroys one. A rental refused because the offer
is gone (``no_such_ask``, "no longer available") is :class:`~aima.gpu_providers.base.NoCapacity`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from aima.gpu_providers.base import NoCapacity, ProviderError
from aima.gpu_providers.transport import JsonApi
from aima.gpu_providers.vastai.models import API_PREFIX, CreateRequest, VastInstance, VastOffer

NO_CAPACITY = re.compile(r"no_such_ask|no longer available|not available|already (been )?rented",
                         re.IGNORECASE)


class VastApiClient:
    """Typed calls to Vast.ai's REST API."""

    def __init__(self, api: JsonApi):
        self.api = api

    def __repr__(self) -> str:
        return f"<VastApiClient at {self.api.base_url}>"

    def search_offers(self, query: dict[str, Any]) -> list[VastOffer]:
        body = self._json(self.api.request("POST", f"{API_PREFIX}/bundles/", json=query))
        return [VastOffer.model_validate(item) for item in body.get("offers") or []]

    def create(self, offer_id: int, request: CreateRequest) -> int:
        """The new instance's id; sent once (the caller decides whether to try again)."""
        try:
            response = self.api.request("PUT", f"{API_PREFIX}/asks/{offer_id}/",
                                        json=request.wire(), retries=0)
        except ProviderError as exc:
            if not exc.transient and exc.status not in (401, 403) and NO_CAPACITY.search(str(exc)):
                raise NoCapacity(self.api.provider, str(exc).removeprefix("vastai: "),
                                 status=exc.status) from None
            raise
        body = self._json(response)
        if not body.get("success") or body.get("new_contract") is None:
            said = self.api.redact(str(body.get("msg") or body.get("error") or body)[:300])
            kind = NoCapacity if NO_CAPACITY.search(str(body)) else ProviderError
            raise kind(self.api.provider, f"offer {offer_id} was not rented: {said}")
        return int(body["new_contract"])

    def instance(self, instance_id: str) -> VastInstance | None:
        try:
            response = self.api.request("GET", f"{API_PREFIX}/instances/{instance_id}/")
        except ProviderError as exc:
            if exc.status == 404:
                return None
            raise
        found = self._json(response).get("instances")
        if isinstance(found, list):
            found = found[0] if found else None
        return VastInstance.model_validate(found) if found else None

    def instances(self) -> list[VastInstance]:
        response = self.api.request("GET", f"{API_PREFIX}/instances/", params={"owner": "me"})
        return [VastInstance.model_validate(item)
                for item in self._json(response).get("instances") or []]

    def destroy(self, instance_id: str) -> bool:
        """Destroy the instance; False when Vast.ai no longer knows it."""
        try:
            self.api.request("DELETE", f"{API_PREFIX}/instances/{instance_id}/")
        except ProviderError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(self.api.provider, f"HTTP {response.status_code} without a JSON "
                                f"object{self.api.said(response.text)}")
        return body
