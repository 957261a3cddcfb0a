"""Serve a WSGI app on 127.0.0.1, on a free port, from a daemon thread (werkzeug)."""

from __future__ import annotations

import ssl
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

POLL_SECONDS = 0.05  # how soon shutdown() is noticed; werkzeug's default 0.5 s slows every test


class _QuietHandler(WSGIRequestHandler):
    """Tests read the emulator's own request log; werkzeug's access log is noise."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LocalServer:
    def __init__(self, app: Any, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1",
            0,
            app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=ssl_context,
        )
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name=f"emulator {self.url}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
