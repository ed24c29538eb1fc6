"""`python -m okdesk_bot` is the same as `okdesk-bot`."""

import sys

from okdesk_bot.cli import main

sys.exit(main())
