"""The benchmark suite: `okdesk-bot bench` (or `python -m bench`) prints a Markdown report.

Speed is measured here, not asserted in tests. Every figure is taken against the emulators on
this machine, with the real service started as `okdesk-bot` child processes, and is printed
beside a baseline measured in the same run (a bare aiohttp handler, the emulator's own round
trip, the configured rate).
"""
