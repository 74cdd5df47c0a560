"""A loopback Vast.ai: the REST API under ``/api/v0`` with Vast.ai's shapes.

``POST /bundles/`` applies a search document's filters (``{"field": {"gte": x}}`` with eq, neq,
gt, gte, lt, lte, in, nin), its ``order`` and ``limit``; ``PUT /asks/{id}/`` rents an offer
(``{"success": true, "new_contract": ID}``, or 400 ``no_such_ask`` when it is gone);
``GET /instances/`` (``{"instances": [...]}``), ``GET /instances/{id}/``
(``{"instances": {...}}``, 404 once destroyed), ``PUT /instances/{id}/ {"state": "stopped"}`` and
``DELETE /instances/{id}/``. Prices are per hour for the whole offer, ``gpu_ram`` in MB.
"""

from __future__ import annotations

import operator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gpu_providers.fake_base import FakeProvider, LedgerEntry

OFFERS: list[dict[str, Any]] = [
    {"id": 7001, "gpu_name": "RTX 4090", "num_gpus": 1, "gpu_ram": 24564, "dph_total": 0.31,
     "min_bid": 0.18, "reliability": 0.995, "geolocation": "Norway, NO", "hosting_type": 0},
    {"id": 7002, "gpu_name": "RTX 3090", "num_gpus": 1, "gpu_ram": 24576, "dph_total": 0.18,
     "min_bid": 0.09, "reliability": 0.962, "geolocation": "Poland, PL", "hosting_type": 0},
    {"id": 7003, "gpu_name": "A100 SXM4", "num_gpus": 1, "gpu_ram": 81920, "dph_total": 1.10,
     "min_bid": 0.55, "reliability": 0.999, "geolocation": "Texas, US", "hosting_type": 1},
    {"id": 7004, "gpu_name": "H100 SXM", "num_gpus": 1, "gpu_ram": 81559, "dph_total": 2.20,
     "min_bid": 1.30, "reliability": 0.998, "geolocation": "Quebec, CA", "hosting_type": 1},
    {"id": 7005, "gpu_name": "RTX 4090", "num_gpus": 2, "gpu_ram": 24564, "dph_total": 0.62,
     "min_bid": 0.40, "reliability": 0.990, "geolocation": "Sweden, SE", "hosting_type": 0},
    {"id": 7006, "gpu_name": "RTX A4000", "num_gpus": 1, "gpu_ram": 16376, "dph_total": 0.09,
     "min_bid": 0.05, "reliability": 0.900, "geolocation": "Vietnam, VN", "hosting_type": 0},
]
OPERATORS = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gte": operator.ge,
             "lt": operator.lt, "lte": operator.le,
             "in": lambda value, options: value in options,
             "nin": lambda value, options: value not in options}
API = "/api/v0"


class FakeVastAI(FakeProvider):
    """Vast.ai's REST API on loopback. ``offers`` replaces the catalogue above."""

    name = "fake Vast.ai API"
    provider = "vastai"
    _contracts = iter(range(9_100_001, 10**9))

    def __init__(self, *, offers: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offers = [{"rentable": True, **item} for item in (offers or OFFERS)]

    def routes(self) -> list[Route]:
        return [
            Route(f"{API}/bundles/", self._search, methods=["POST"]),
            Route(f"{API}/asks/{{offer_id:int}}/", self._rent, methods=["PUT"]),
            Route(f"{API}/instances/", self._list, methods=["GET"]),
            Route(f"{API}/instances/{{instance_id}}/", self._instance,
                  methods=["GET", "PUT", "DELETE"]),
        ]

    async def _search(self, request: Request) -> Response:
        query = await request.json()
        if (refusal := await self.gate(request, query)) is not None:
            return refusal
        found = [offer for offer in self.offers if _matches(offer, query)]
        for field, direction in reversed(query.get("order") or []):
            found.sort(key=lambda offer: offer.get(field) or 0, reverse=direction == "desc")
        return JSONResponse({"offers": found[: query.get("limit") or 64]})

    async def _rent(self, request: Request) -> Response:
        body = await request.json()
        if (refusal := await self.gate(request, body)) is not None:
            return refusal
        if (fault := self.create_fault(request)) is not None:
            return fault
        offer_id = request.path_params["offer_id"]
        offer = next((item for item in self.offers if item["id"] == offer_id), None)
        if offer is None or str(offer_id) in self.faults.no_capacity:
            return self.error(request, 400, "no_such_ask: Instance type no longer available.")
        for required in ("image", "disk", "label"):
            if required not in body:
                return self.error(request, 400, f"invalid_args: {required} is required")
        price = body.get("price")
        if price is not None and price < (offer.get("min_bid") or float("inf")):
            return self.error(request, 400, "invalid_price: bid below the offer's min_bid")
        entry = self.start_instance(
            instance_id=str(next(self._contracts)), label=body["label"], offer_id=str(offer_id),
            gpu_model=offer["gpu_name"], gpu_count=offer["num_gpus"],
            price_per_hour=price if price is not None else offer["dph_total"],
            interruptible=price is not None, image=body["image"],
            command=body.get("onstart") or "", env=dict(body.get("env") or {}),
            disk_gb=int(body["disk"]))
        if self.take_lost_reply():
            return self.error(request, 503, "Service Unavailable")
        return JSONResponse({"success": True, "new_contract": int(entry.instance_id)})

    async def _list(self, request: Request) -> Response:
        if (refusal := await self.gate(request, None)) is not None:
            return refusal
        return JSONResponse({"instances": [self.instance(entry) for entry in self.ledger.entries()
                                           if entry.status != "terminated"]})

    async def _instance(self, request: Request) -> Response:
        body = await request.json() if request.method == "PUT" else None
        if (refusal := await self.gate(request, body)) is not None:
            return refusal
        entry = self.ledger.get(request.path_params["instance_id"])
        if entry is None or entry.status == "terminated":
            return self.error(request, 404, "no_such_instance")
        if request.method == "DELETE":
            self.end_instance(entry)
        elif request.method == "PUT" and (body or {}).get("state") == "stopped":
            self.end_instance(entry, status="stopped")
        else:
            return JSONResponse({"instances": self.instance(entry)})
        return JSONResponse({"success": True})

    def instance(self, entry: LedgerEntry) -> dict[str, Any]:
        return {"id": int(entry.instance_id), "label": entry.label, "image_uuid": entry.image,
                "actual_status": "running" if entry.status == "running" else "exited",
                "intended_status": "stopped" if entry.status == "stopped" else "running",
                "dph_total": entry.price_per_hour, "start_date": entry.started_at,
                "end_date": entry.ended_at, "gpu_name": entry.gpu_model,
                "num_gpus": entry.gpu_count, "is_bid": entry.interruptible}


def _matches(offer: dict[str, Any], query: dict[str, Any]) -> bool:
    for field, condition in query.items():
        if field in ("order", "type", "limit") or not isinstance(condition, dict):
            continue
        value = offer.get(field)
        for name, expected in condition.items():
            if value is None or not OPERATORS[name](value, expected):
                return False
    return True
