"""Fixtures for the collectors tests, and guards that keep every test off the real network.

``socket.getaddrinfo`` is guarded to accept only numeric addresses (so a real name is
never looked up) and ``collectors.transport._connect`` to connect only to 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from collectors_support import HOMOGRAPH_ASCII, HOST, LOOPBACK, FakeResolver, HostileServer

from collectors import transport


@pytest.fixture(scope="session")
def server() -> Iterator[HostileServer]:
    hostile = HostileServer()
    hostile.start()
    yield hostile
    hostile.stop()


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver({HOST: [LOOPBACK], HOMOGRAPH_ASCII: [LOOPBACK]})


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Fail any test that would resolve a real name or connect anywhere but 127.0.0.1."""
    real_getaddrinfo = socket.getaddrinfo

    def numeric_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(text.strip("[]").split("%")[0])
        except ValueError as exc:
            raise AssertionError(f"a test tried to look up the name {text!r}") from exc
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    connections: list[tuple[str, int]] = []
    real_connect = transport._connect

    def loopback_only(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        assert address[0] == LOOPBACK, f"a test tried to connect to {address[0]}"
        connections.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(transport, "_connect", loopback_only)
    monkeypatch.delenv("CASEVIEW_ALLOW_HOSTS", raising=False)
    return connections
