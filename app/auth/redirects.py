"""Only ever redirect inside the app."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return target if it is a path inside this app, else None.

    Refuses absolute URLs, scheme-relative '//host', backslash tricks ('/\\host'), control
    characters and any scheme such as 'javascript:'.
    """
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
