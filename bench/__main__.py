"""`python -m bench`: the same as `okdesk-bot bench` (the code lives in `okdesk_bot.bench`)."""

import sys

from okdesk_bot.bench.runner import main

sys.exit(main())
