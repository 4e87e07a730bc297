"""Keep the page free of outbound requests.

Chainlit's ``index.html`` preconnects to Google Fonts and links a KaTeX stylesheet on a CDN. ``public/theme.json``
with ``"custom_fonts": []`` removes the font stylesheet; :func:`strip_external_links` removes the rest (LaTeX
is off in ``.chainlit/config.toml``, so KaTeX's CSS is unused). :func:`install` wraps Chainlit's template
function once, at app import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>\s*", re.IGNORECASE | re.DOTALL)


def strip_external_links(html: str) -> str:
    """Remove every ``<link>`` whose href is an absolute http(s) URL (preconnects, CDN stylesheets)."""
    return _EXTERNAL_LINK.sub("", html)


def install() -> None:
    """Wrap ``chainlit.server.get_html_template`` so the served page links nothing outside this server."""
    import chainlit.server as server

    original: Callable[..., str] = server.get_html_template
    if getattr(original, "_opsgraph_offline", False):
        return

    def offline_template(*args: Any, **kwargs: Any) -> str:
        return strip_external_links(original(*args, **kwargs))

    offline_template._opsgraph_offline = True  # type: ignore[attr-defined]
    server.get_html_template = offline_template
