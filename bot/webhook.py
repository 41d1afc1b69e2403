"""Optional webhook mode: Telegram posts updates to us, authenticated by a secret token.

PTB's webhook server rejects every request whose `X-Telegram-Bot-Api-Secret-Token` header
does not carry the secret we registered with `setWebhook`, so a forged update is refused.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlparse

from telegram.ext import Application

from .app import ALLOWED_UPDATES


def run_webhook(application: Application, *, webhook_url: str, listen: str, port: int) -> None:
    secret = os.environ.get("TUTOR_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
    path = urlparse(webhook_url).path.lstrip("/")
    application.run_webhook(
        listen=listen,
        port=port,
        url_path=path,
        webhook_url=webhook_url,
        secret_token=secret,
        allowed_updates=ALLOWED_UPDATES,
    )
