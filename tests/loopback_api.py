"""An OpenAI-compatible test API on loopback: a Starlette app served by uvicorn in a thread.

:class:`LoopbackAPI` is what the tests' OpenAI-compatible servers share
(:class:`tests.vision.vlm_server.VLMServer`, :class:`tests.models_llm.llama_server.FlakyProxy`):
a free port on 127.0.0.1, the API root :attr:`LoopbackAPI.url` (``http://127.0.0.1:PORT/v1``),
:meth:`LoopbackAPI.start` that returns once the server listens, and :meth:`LoopbackAPI.stop`.
A subclass says which routes it serves (:meth:`LoopbackAPI.routes`).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route


class LoopbackAPI:
    name = "test server"
    """What the server is, for the error raised when it does not start."""

    def __init__(self) -> None:
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def start(self) -> Self:
        """Listen on a free loopback port; returns ``self`` once the server has started."""
        app = Starlette(routes=self.routes())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None
