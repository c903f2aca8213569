"""A real HTTP server on 127.0.0.1 for the integration tests (STYLE.md habit 5: a free
port, stopped by the fixture that started it)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def serving(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1; yields ``127.0.0.1:PORT``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        address: Any = httpd.server_address
        yield f"127.0.0.1:{address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
