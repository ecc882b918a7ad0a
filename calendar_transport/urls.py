"""The URLs a client is given: absolute http(s), no credentials in them, and plain http only
to this machine unless the caller allows it (a token must not cross a network unencrypted)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback", "validate_base_url"]


def validate_base_url(
    url: str,
    *,
    allow_insecure: bool = False,
    name: str = "base_url",
    insecure_option: str = "allow_insecure=True",
) -> str:
    """Check that ``url`` is an absolute http(s) URL; plain http only to loopback by default.

    ``name`` is the argument the URL came from, ``insecure_option`` what allows plain http
    (a command line names its own option), both for the error message.
    """
    if not isinstance(url, str):
        raise TypeError(f"{name} must be a str, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an absolute http(s) URL, got {url!r}")
    if parts.username or parts.password:
        raise ValueError(f"{name} must not carry credentials; pass login/password instead")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError(f"{name} has an invalid port, got {url!r}") from None
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise ValueError(
            f"{name}: refusing plain http to {parts.hostname}: tokens would cross the network "
            f"unencrypted; use https, or pass {insecure_option}"
        )
    return url


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, as a URL holds it) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
