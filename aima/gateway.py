"""``python -m aima.gateway``: the run-labelling gateway, which records who started a flow run
from the Prefect UI.

The Prefect server records no creator of a flow run. In AIMA's stack people reach the Prefect UI
through Traefik, which logs them in and passes the user on in a header (``X-Forwarded-User``,
after dropping any such header the client sent). Traefik routes the API calls of people that
create flow runs or write labels to this small reverse proxy, which

- writes the user as the label ``aima.actor`` of every flow run they create (``POST
  /api/deployments/{id}/create_flow_run``, its ``/bulk`` form, ``POST /api/flow_runs/``),
  replacing any ``aima.actor`` of the client's own, or removing it when no user header came;
- removes ``aima.actor`` from label updates of flow runs and from new flows and deployments
  (whose labels their flow runs inherit): nobody can put another name on a run;

and forwards the request to the Prefect API (``PREFECT_API_URL``) with the server's auth string
(``PREFECT_API_AUTH_STRING``), answering with the server's status, headers and body unchanged.
The analyze-media flow names the label's user (:func:`actor_label`) in its audit events. The
gateway believes the header: only the reverse proxy may reach it (docker-compose.yml).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aima.errors import AimaError
from aima.settings import load_settings

ACTOR_LABEL = "aima.actor"
UI_API_PREFIX = "/api"  # where the Prefect UI's API calls arrive (PREFECT_UI_API_URL)
UPSTREAM_TIMEOUT_S = 60.0
# Not forwarded: what belongs to one connection, and the client's own credentials.
REQUEST_HEADERS_DROPPED = frozenset({
    "host", "content-length", "authorization", "connection", "keep-alive", "te", "trailer",
    "transfer-encoding", "upgrade", "proxy-authorization"})
RESPONSE_HEADERS_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding"})

Rewrite = Callable[[Any, str | None], Any]


def actor_label(labels: Mapping[str, Any] | None) -> str | None:
    """The user the gateway recorded as a flow run's actor; None for a run not started by a
    person through it (a schedule, a worker, a machine on the API port)."""
    value = (labels or {}).get(ACTOR_LABEL)
    return value if isinstance(value, str) and value else None


class BadBody(ValueError):
    """The request's JSON is not what the Prefect API takes."""


def with_actor(item: Any, user: str | None) -> dict:
    """A copy of one object to create (flow run, flow, deployment) whose labels name ``user`` as
    the actor, or name no actor when ``user`` is None."""
    if not isinstance(item, dict):
        raise BadBody("expected a JSON object")
    labels = item.get("labels")
    if labels is None and user is None:
        return item
    if labels is not None and not isinstance(labels, dict):
        raise BadBody("labels must be a JSON object")
    kept = {key: value for key, value in (labels or {}).items() if key != ACTOR_LABEL}
    return {**item, "labels": kept | ({ACTOR_LABEL: user} if user else {})}


def _each_with_actor(runs: Any, user: str | None) -> list[dict]:
    if not isinstance(runs, list):
        raise BadBody("expected a JSON array of flow runs")
    return [with_actor(run, user) for run in runs]


def _without_actor(item: Any, _: str | None) -> dict:
    return with_actor(item, None)


def _labels_without_actor(labels: Any, _: str | None) -> dict:
    return with_actor({"labels": labels}, None)["labels"]


# (method, path under the API, how its body is rewritten for the logged-in user)
ROUTES: list[tuple[str, str, Rewrite]] = [
    ("POST", "/deployments/{id}/create_flow_run", with_actor),
    ("POST", "/deployments/{id}/create_flow_run/bulk", _each_with_actor),
    ("POST", "/flow_runs/", with_actor),
    ("PATCH", "/flow_runs/{id}/labels", _labels_without_actor),
    ("POST", "/deployments/", _without_actor),
    ("POST", "/flows/", _without_actor),
]


def create_app(api_url: str, auth_string: str | None,
               user_header: str = "X-Forwarded-User") -> Starlette:
    """The gateway for the Prefect API at ``api_url`` (``http://HOST:4200/api``)."""
    api_url = api_url.rstrip("/")
    authorization = ("Basic " + base64.b64encode(auth_string.encode()).decode()
                     if auth_string else None)

    async def forward(request: Request, rewrite: Rewrite) -> Response:
        user = request.headers.get(user_header) or None
        try:
            body = rewrite(json.loads(await request.body()), user)
        except ValueError as exc:  # not JSON, or not the shape the API takes
            return JSONResponse({"detail": f"invalid request body: {exc}"}, status_code=422)
        headers = {name: value for name, value in request.headers.items()
                   if name not in REQUEST_HEADERS_DROPPED}
        headers["content-type"] = "application/json"
        if authorization:
            headers["authorization"] = authorization
        url = api_url + request.url.path.removeprefix(UI_API_PREFIX)
        if request.url.query:
            url += "?" + request.url.query
        async with httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT_S) as client:
            try:
                upstream = await client.send(
                    client.build_request(request.method, url, headers=headers,
                                         content=json.dumps(body).encode()), stream=True)
                content = b"".join([chunk async for chunk in upstream.aiter_raw()])
            except httpx.HTTPError as exc:
                return JSONResponse({"detail": f"the Prefect API did not answer "
                                               f"({type(exc).__name__})"}, status_code=502)
        return Response(content, status_code=upstream.status_code, headers={
            name: value for name, value in upstream.headers.items()
            if name.lower() not in RESPONSE_HEADERS_DROPPED})

    def endpoint(rewrite: Rewrite):
        async def handle(request: Request) -> Response:
            return await forward(request, rewrite)
        return handle

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [Route(UI_API_PREFIX + path, endpoint(rewrite), methods=[method])
              for method, path, rewrite in ROUTES]
    return Starlette(routes=[*routes, Route("/health", health, methods=["GET"])])


def main() -> int:
    from prefect.settings import get_current_settings  # slow to import: only when serving

    try:
        settings = load_settings()
    except AimaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    prefect = get_current_settings().api
    if not prefect.url:
        print("error: PREFECT_API_URL: not set; name the Prefect server's API, e.g. "
              "http://prefect-server:4200/api", file=sys.stderr)
        return 2
    auth = prefect.auth_string.get_secret_value() if prefect.auth_string else None
    uvicorn.run(create_app(prefect.url, auth, settings.gateway_user_header),
                host=settings.gateway_host, port=settings.gateway_port,
                server_header=False, date_header=False)  # the server's own pass through
    return 0


if __name__ == "__main__":
    sys.exit(main())
