"""`okdesk-bot sandbox` as a newcomer runs it: no configuration, a URL, Ctrl+C."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from okdesk_bot.cli import main
from tests.support import free_port

CLI = Path(sys.executable).with_name("okdesk-bot")


def bare_environment(home: Path) -> dict[str, str]:
    """Nothing configured: no tokens, no URLs, no database; temporary files under `home`."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TMPDIR": str(home)}


def leftovers(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


async def test_it_starts_without_configuration_prints_the_url_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        "sandbox",
        "--port",
        str(port),
        env=bare_environment(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        url = f"http://127.0.0.1:{port}"
        assert line.decode().startswith(f"Sandbox: open {url} in a browser."), line
        async with aiohttp.ClientSession() as http, http.get(url) as page:
            assert page.status == 200
            assert "Песочница" in await page.text()
        [workdir] = leftovers(tmp_path)
        assert workdir.startswith("okdesk-sandbox-")

        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert "Sandbox stopped" in stdout.decode()
    assert "Traceback" not in stderr.decode()
    assert leftovers(tmp_path) == []  # its temporary directory and database are gone


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """`main` configures logging for the process; put back what pytest had."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_logging")
def test_a_taken_port_is_named_with_the_way_out(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["sandbox", "--port", str(port)])
    assert code == 1
    error = capsys.readouterr().err
    assert f"127.0.0.1:{port} is in use; choose another port with --port" in error
