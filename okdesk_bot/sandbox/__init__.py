"""`okdesk-bot sandbox`: the real bot between the Okdesk and Telegram emulators, in a browser.

One process, no configuration: see :mod:`.server` for what runs, :mod:`.web` for the page's
server and :mod:`.feed` for its live updates; the page itself is ``static/``.
"""

from okdesk_bot.sandbox.server import Sandbox, open_sandbox, serve

__all__ = ["Sandbox", "open_sandbox", "serve"]
