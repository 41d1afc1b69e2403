"""Webhook mode: Telegram posts updates to us, authenticated by a secret token.

The update is written to the inbox before the 200 goes back (bot/inbox.py), so a crash right
after cannot lose it: Telegram re-sends anything that did not get a 200. A request without the
secret registered with `setWebhook` is refused with 403.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from urllib.parse import urlparse

from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import RequestHandler

from .context import TutorApp
from .inbox import ALLOWED_UPDATES, Inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(RequestHandler):
    def initialize(self, inbox: Inbox, secret: str) -> None:
        self.inbox, self.secret = inbox, secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given, self.secret):
            self.set_status(403)
            return
        try:
            update = json.loads(self.request.body)
        except ValueError:
            self.set_status(400)
            return
        await self.inbox.accept([update])  # a storage failure answers 500: Telegram sends it again
        self.set_status(200)


async def start_webhook(application: TutorApp, inbox: Inbox, *, webhook_url: str, listen: str, port: int) -> HTTPServer:
    secret = os.environ.get("TUTOR_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
    path = "/" + urlparse(webhook_url).path.lstrip("/")
    server = HTTPServer(WebApplication([(path, UpdateHandler, {"inbox": inbox, "secret": secret})]))
    server.listen(port, address=listen)
    await application.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    log.info("webhook listening on %s:%d%s", listen, port, path)
    return server
