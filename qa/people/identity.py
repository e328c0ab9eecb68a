"""Who is asking: users from ``CITEQA_API_KEYS`` and ``CITEQA_UI_USERS``, or one local user.

``CITEQA_API_KEYS`` is a comma-separated list of ``name:key`` or bare ``key`` entries. A bare
key's user is ``key-`` + the first 8 hex digits of the key's SHA-256: stable when the list is
reordered (a position would move conversations between users) and it does not reveal the key.
A key therefore cannot contain ``:`` unless it is named. ``CITEQA_UI_USERS`` is a
comma-separated list of ``user:password`` pairs. Secrets are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    field_validator,
)

from qa.config import Settings

LOCAL_USER = "local"
_NAME = re.compile(r"\w[\w.@-]{0,199}")
T = TypeVar("T")


class User(BaseModel):
    """A person (or program) acting on citeqa; the name is the identity."""

    model_config = ConfigDict(frozen=True)

    name: str
    via: Literal["key", "password", "local"] = "local"


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid user name {name!r}: letters, digits and . _ @ - (at most 200 characters)"
        )
    return name


UserName = Annotated[str, AfterValidator(_check_name)]


class ApiKey(BaseModel):
    """One entry of ``CITEQA_API_KEYS``: the key and the user it authenticates."""

    user: UserName
    key: SecretStr

    @field_validator("key")
    @classmethod
    def _key_not_blank(cls, key: SecretStr) -> SecretStr:
        if not key.get_secret_value().strip():
            raise ValueError("an API key is empty")
        return key

    @classmethod
    def parse(cls, entry: str) -> ApiKey:
        """``name:key`` or a bare ``key`` (its user named after the key's hash)."""
        entry = entry.strip()
        name, sep, key = entry.partition(":")
        if not sep:
            key = entry
            name = "key-" + hashlib.sha256(entry.encode()).hexdigest()[:8]
        return cls(user=name, key=SecretStr(key))


class UiLogin(BaseModel):
    """One entry of ``CITEQA_UI_USERS``: a page login."""

    user: UserName
    password: SecretStr

    @classmethod
    def parse(cls, entry: str) -> UiLogin:
        name, sep, password = entry.strip().partition(":")
        if not sep or not password:
            raise ValueError(f"entries must be user:password, got {name!r} without a password")
        return cls(user=name, password=SecretStr(password))


def _entries(raw: str | None) -> list[str]:
    return [item for item in (raw or "").split(",") if item.strip()]


def _parse_all(setting: str, raw: str | None, parse: Callable[[str], T]) -> list[T]:
    try:
        return [parse(item) for item in _entries(raw)]
    except ValidationError as exc:
        raise ValueError(
            f"CITEQA_{setting}: " + "; ".join(e["msg"] for e in exc.errors())
        ) from None
    except ValueError as exc:
        raise ValueError(f"CITEQA_{setting}: {exc}") from None


class Identity:
    """Resolves API keys and page logins to users; with neither configured, one local user."""

    def __init__(self, api_keys: list[ApiKey], logins: list[UiLogin]) -> None:
        keys = [k.key.get_secret_value() for k in api_keys]
        if len(set(keys)) != len(keys):
            raise ValueError("CITEQA_API_KEYS: the same key is listed twice")
        names = [login.user for login in logins]
        if len(set(names)) != len(names):
            raise ValueError("CITEQA_UI_USERS: a user is listed twice")
        self._keys = [(k.key.get_secret_value().encode(), k.user) for k in api_keys]
        self._passwords = {u.user: u.password.get_secret_value().encode() for u in logins}

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        """Parse ``CITEQA_API_KEYS`` and ``CITEQA_UI_USERS``; a bad entry raises ValueError."""
        return cls(
            _parse_all("API_KEYS", settings.api_keys, ApiKey.parse),
            _parse_all("UI_USERS", settings.ui_users, UiLogin.parse),
        )

    @property
    def keys_required(self) -> bool:
        """Whether API requests must carry a key (else they act as the local user)."""
        return bool(self._keys)

    @property
    def login_required(self) -> bool:
        """Whether the page needs a login (else it acts as the local user)."""
        return bool(self._passwords)

    @property
    def local_user(self) -> User:
        """The user of requests on a channel that needs no credentials."""
        return User(name=LOCAL_USER, via="local")

    def resolve_key(self, token: str) -> User | None:
        """The user an API key belongs to, or None; every key is compared (constant time)."""
        given = token.strip().encode()
        found = None
        for key, name in self._keys:
            if hmac.compare_digest(given, key) and found is None:
                found = name
        return User(name=found, via="key") if found is not None else None

    def check_password(self, user: str, password: str) -> bool:
        """Whether ``password`` is ``user``'s page password (constant time, also for unknowns)."""
        expected = self._passwords.get(user)
        # Compare against something even for an unknown user, so timing does not tell.
        matches = hmac.compare_digest(password.encode(), expected or b"\0" * 32)
        return expected is not None and matches

    @property
    def enabled(self) -> bool:
        """Whether anything needs credentials: then every route but /healthz does."""
        return self.keys_required or self.login_required

    def login(self, user: str, password: str) -> User | None:
        """The page user for a correct login, else None."""
        return User(name=user, via="password") if self.check_password(user, password) else None

    def page_login(self, user: str, password: str) -> User | None:
        """A sign-in on the login page: a page user's password, or an API key (its user)."""
        return self.login(user, password) or self.resolve_key(password)
