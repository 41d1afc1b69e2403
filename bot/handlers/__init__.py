"""Telegram handlers, one module per feature. Each parses the update, asks the tutor's rules
(content/tutor.py) or the store, renders with bot/texts.py and sends with bot/sending.py."""
