"""Is a host or URL this machine? One answer for the functions and the local tools.

Requests to a loopback address go to a local server (the model server, ``visiongate up``'s
Step Functions API), which needs neither signing nor real credentials. This lives with the
functions because they may import only the standard library, boto3 and visiongate's
errors, config, storage and functions modules; everything else may import them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """``localhost``, ``127.0.0.1``, ``::1`` or ``[::1]`` (any loopback address)."""
    if host == "localhost":
        return True
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    """Whether ``url``'s host is a loopback address (False for None or no host)."""
    return is_loopback(urlsplit(url).hostname if url else None)
