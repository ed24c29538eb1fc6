"""Telegram bot for the clients of an Okdesk helpdesk."""

__version__ = "0.1.0"
