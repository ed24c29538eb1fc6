"""What the end-to-end and journey tests share: the credentials the emulators accept."""

from __future__ import annotations

import socket

BOT_TOKEN = "123456:TEST-token-for-tests"
OKDESK_TOKEN = "tests-okdesk-token"


def free_port() -> int:
    """A TCP port nobody listens on right now (for a child process to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
