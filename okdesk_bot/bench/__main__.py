"""`python -m okdesk_bot.bench`: the same as `okdesk-bot bench`."""

import sys

from okdesk_bot.bench.runner import main

sys.exit(main())
