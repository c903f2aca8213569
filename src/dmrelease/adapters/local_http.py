"""A directory served read-only over HTTP on 127.0.0.1, for as long as a build needs it.

``dm-release docker`` installs from the binary server; when only its directory is
configured (``paths.binary_server``), the image build reads it from here: the builder's RUN
steps share the host's network (buildah's chroot isolation, docker's ``--network host``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["serve_directory"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the build's log is enough
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free port of 127.0.0.1; yields its URL (``http://127.0.0.1:N``)."""
    handler = functools.partial(_Quiet, directory=str(Path(root).absolute()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="dm-release-serve", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
