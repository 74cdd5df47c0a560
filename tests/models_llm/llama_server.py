"""A real llama.cpp server on loopback, and a proxy in front of it that can fail on purpose.

:func:`start_llama_server` runs llama.cpp's own HTTP server (``xllamacpp.Server``: the engine of
``llama-server``, OpenAI-compatible ``/v1/chat/completions``) on the packaged SmolLM2-135M GGUF,
with an API key and a model alias, as a deployment would run it.

:class:`FlakyProxy` forwards every request to that server unchanged, except that it first
answers the statuses queued in ``fail_next`` (e.g. two 503s with ``Retry-After`` while a server
restarts) and keeps the request bodies and headers it saw in ``requests``. The answers that get
through are the real server's.
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aima.models.weights import packaged_gguf
from tests.loopback_api import LoopbackAPI

MODEL_ALIAS = "smollm2-135m"


def start_llama_server(api_key: str, context_tokens: int = 2048, threads: int = 1):
    """llama.cpp's server on the packaged GGUF; its base URL is ``listening_address + "/v1"``."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(packaged_gguf())
    params.model_alias = MODEL_ALIAS
    params.n_ctx = context_tokens
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.api_keys = [api_key]
    params.verbosity = 0
    return xllamacpp.Server(params)


class FlakyProxy(LoopbackAPI):
    name = "test proxy"

    def __init__(self, upstream: str):
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.fail_next: list[tuple[int, str | None]] = []  # (status, Retry-After) to answer first
        self.requests: list[dict] = []

    async def _forward(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append({"path": request.url.path, "body": body,
                              "headers": dict(request.headers)})
        if self.fail_next:
            status, retry_after = self.fail_next.pop(0)
            headers = {"Retry-After": retry_after} if retry_after else {}
            return JSONResponse({"error": {"message": "loading model", "type": "unavailable"}},
                                status_code=status, headers=headers)
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("authorization", "content-type")}
        async with httpx.AsyncClient(timeout=120) as client:
            answer = await client.post(self.upstream + request.url.path, content=body,
                                       headers=headers)
        return Response(answer.content, status_code=answer.status_code,
                        media_type=answer.headers.get("content-type"))

    def routes(self) -> list[Route]:
        return [Route("/v1/chat/completions", self._forward, methods=["POST"])]
