"""Who is asking: API keys (``name:key`` or a bare key) and page users (``user:password``),
parsed once into typed values and compared in constant time."""

from __future__ import annotations

import hmac

from pydantic import BaseModel, SecretStr

from qa.config import Settings

LOCAL_USER = "local"


class ApiKey(BaseModel):
    user: str
    key: SecretStr


class PageUser(BaseModel):
    user: str
    password: SecretStr


def _items(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def parse_api_keys(raw: str | None) -> list[ApiKey]:
    """``CITEQA_API_KEYS``: ``name:key`` names the key's user; a bare key is ``key-<n>``."""
    keys = []
    for n, item in enumerate(_items(raw), start=1):
        user, sep, key = item.partition(":")
        if not sep:
            user, key = f"key-{n}", item
        if not user or not key:
            raise ValueError(f"CITEQA_API_KEYS entries must be name:key or key, got {item!r}")
        keys.append(ApiKey(user=user, key=SecretStr(key)))
    return keys


def parse_page_users(raw: str | None) -> list[PageUser]:
    """``CITEQA_UI_USERS``: ``user:password`` pairs (the password may contain ':')."""
    users = []
    for item in _items(raw):
        user, sep, password = item.partition(":")
        if not sep or not user or not password:
            raise ValueError(f"CITEQA_UI_USERS entries must be user:password, got {item!r}")
        users.append(PageUser(user=user, password=SecretStr(password)))
    return users


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Identities:
    """Resolves credentials to a user name. With no keys and no users, everyone is the one
    local user and nothing asks for credentials."""

    def __init__(self, settings: Settings) -> None:
        self.keys = parse_api_keys(settings.api_keys)
        self.users = parse_page_users(settings.ui_users)
        self.metrics_key = settings.metrics_key

    @property
    def enabled(self) -> bool:
        return bool(self.keys or self.users)

    def user_for_key(self, token: str) -> str | None:
        """The key's user; every key is compared, so timing says nothing about which."""
        found = None
        for entry in self.keys:
            if _same(token, entry.key.get_secret_value()):
                found = entry.user
        return found

    def is_metrics_key(self, token: str) -> bool:
        return bool(self.metrics_key) and _same(token, str(self.metrics_key))

    def login(self, user: str, password: str) -> str | None:
        """A page login: a user's password, or (for API key holders) their key."""
        found = None
        for entry in self.users:
            if _same(user, entry.user) & _same(password, entry.password.get_secret_value()):
                found = entry.user
        return found or self.user_for_key(password)
