"""The client address of an HTTP request, behind trusted reverse proxies (issue 14).

``REMOTE_ADDR`` is the peer of the TCP connection: behind a reverse proxy, the proxy, the same for
every client. :class:`ClientAddress` believes ``X-Forwarded-For`` only when the peer is one of the
configured trusted proxies (``INNBYGGERPOST_TRUSTED_PROXIES``, addresses or networks), and then takes
the right-most address in it that is not itself a trusted proxy (each proxy appends the address it
received the request from; addresses further left were written by the client and prove nothing).
Without trusted proxies the header is ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ENVIRON_CLIENT = "innbyggerpost.client"


class ClientAddress:
    def __init__(self, trusted: Iterable[str]) -> None:
        self.trusted: tuple[Network, ...] = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def __call__(self, environ: dict[str, Any]) -> str | None:
        peer = environ.get("REMOTE_ADDR")
        if not self.trusted or not peer or not self._is_trusted(peer):
            return peer
        forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()][-32:]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop.strip("[]")))
                except ValueError:
                    return peer  # a malformed entry: do not believe anything further left
        return peer
