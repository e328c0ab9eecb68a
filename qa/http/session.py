"""Signed session cookies for the page: ``user.expiry.signature`` (HMAC-SHA256).

The secret is ``CITEQA_SESSION_SECRET`` or a random key kept in the data dir, so several
server workers on one data dir accept each other's sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

COOKIE = "citeqa_session"
LIFETIME = 7 * 24 * 3600


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "session.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_hex(32).encode())
    return path.read_bytes().strip()


class Sessions:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()

    def make(self, user: str, now: float | None = None) -> str:
        name = base64.urlsafe_b64encode(user.encode()).decode()
        payload = f"{name}.{int((now or time.time()) + LIFETIME)}"
        return f"{payload}.{self._sign(payload)}"

    def user(self, cookie: str | None, now: float | None = None) -> str | None:
        """The user of a valid, unexpired cookie, else None."""
        name, _, rest = (cookie or "").partition(".")
        expiry, _, signature = rest.partition(".")
        payload = f"{name}.{expiry}"
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        try:
            return base64.urlsafe_b64decode(name.encode()).decode()
        except ValueError:
            return None
