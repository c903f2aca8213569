"""Graphviz: a DOT graph drawn as SVG by ``dot -Tsvg``, for the status page's dependency graph.

:func:`render_svg` returns the ``<svg>`` element alone (its XML prolog, DOCTYPE and comments
dropped, so that it can be inlined in an HTML page and names no external DTD), or None when
``dot`` is not installed: the page then says so and lists the graph instead. A ``dot`` that
fails or runs past its timeout is an error of the environment (exit 2).
"""

from __future__ import annotations

import re
import shutil
import subprocess

from dmrelease.core.errors import DmReleaseError

__all__ = ["DOT_MISSING", "GraphvizError", "inline_svg", "render_svg"]

DOT_MISSING = "graphviz's dot is not installed: the dependency graph is listed, not drawn"
_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)


class GraphvizError(DmReleaseError):
    """``dot`` failed or ran too long: exit 2 with what it said."""

    exit_code = 2


def inline_svg(text: str) -> str:
    """The ``<svg>`` element of dot's output, without the prolog, DOCTYPE and comments."""
    body = _PROLOG.sub("", text).strip()
    start = body.find("<svg")
    if start < 0:
        raise GraphvizError("dot -Tsvg wrote no <svg> element")
    return body[start:]


def render_svg(dot_text: str, *, timeout: float = 60, dot: str = "dot") -> str | None:
    """The graph drawn by ``dot -Tsvg``; None when ``dot`` is not on PATH."""
    program = shutil.which(dot)
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"dot -Tsvg did not finish within {timeout:g} s") from None
    except OSError as error:
        raise GraphvizError(f"dot -Tsvg could not run: {error.strerror or error}") from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise GraphvizError(f"dot -Tsvg failed: {said}")
    return inline_svg(done.stdout.decode(errors="replace"))
