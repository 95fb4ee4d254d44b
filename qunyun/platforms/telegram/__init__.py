"""Telegram Bot API: webhook Updates in, Bot API calls out."""
