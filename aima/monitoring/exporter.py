"""``python -m aima.monitoring.exporter``: serve AIMA's figures to Prometheus on /metrics.

Reads the same ``AIMA_*`` settings as every AIMA process (the store URLs and credentials) and
listens on ``AIMA_EXPORTER_HOST``:``AIMA_EXPORTER_PORT`` (default 127.0.0.1:9464; ``--host`` and
``--port`` override them). The metrics are listed in :mod:`aima.monitoring.collector`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from aima.errors import AimaError
from aima.monitoring.collector import AimaCollector
from aima.settings import Settings, load_settings

logger = logging.getLogger("aima.monitoring.exporter")


class Exporter:
    """The HTTP server and the collector behind it; ``port`` is the one actually bound."""

    def __init__(self, settings: Settings, host: str | None = None, port: int | None = None):
        self.collector = AimaCollector(settings)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self._server: WSGIServer
        self._server, self._thread = start_http_server(
            settings.exporter_port if port is None else port,
            addr=settings.exporter_host if host is None else host,
            registry=self.registry,
        )
        self.host, self.port = self._server.server_address[:2]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self.collector.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aima.monitoring.exporter",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="listen address (default: AIMA_EXPORTER_HOST)")
    parser.add_argument("--port", type=int, help="listen port (default: AIMA_EXPORTER_PORT)")
    args = parser.parse_args(argv)
    # force: importing Prefect (for the GPU machines' flow runs) has configured logging already
    logging.basicConfig(level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        exporter = Exporter(load_settings(), host=args.host, port=args.port)
    except AimaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # port in use, address not available
        print(f"error: cannot listen: {exc}", file=sys.stderr)
        return 2
    logger.info("serving AIMA's figures on %s", exporter.url)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    exporter.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
