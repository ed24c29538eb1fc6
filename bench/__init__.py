"""`python -m bench` from a checkout: a shim over `okdesk_bot.bench` (see its docstring)."""
