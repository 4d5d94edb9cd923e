from __future__ import annotations

from urllib.parse import urlsplit


def same_site_path(target: str | None, default: str = "/") -> str:
    """Only ever redirect within this site, whatever a `next` parameter says."""
    if not target:
        return default
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return default
    return target
