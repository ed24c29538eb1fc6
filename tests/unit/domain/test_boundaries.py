import pkgutil
import subprocess
import sys

import okdesk_bot.domain

FORBIDDEN = ("aiogram", "aiohttp", "httpx", "sqlalchemy")


def test_the_domain_imports_no_framework() -> None:
    modules = [
        module.name
        for module in pkgutil.walk_packages(okdesk_bot.domain.__path__, "okdesk_bot.domain.")
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FORBIDDEN)!r}))\n"
    )

    result = subprocess.run(  # a fresh interpreter: this one has imported everything already
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert "okdesk_bot.domain.richtext" in modules
    assert result.stdout.strip() == "[]"
