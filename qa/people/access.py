"""Who may read and write which collections, and who is an admin (``CITEQA_ACCESS``).

Unset, everyone reads, writes and administers everything (citeqa before users existed).
Set, it is either inline rules or the path of a TOML file with the same content:

    alice=read:news,write:news;bob=read:*;carol=admin;*=read:public

    [alice]                 # TOML: one table per user
    read = ["news"]
    write = ["news"]
    ["*"]
    read = ["public"]

A grant is ``read:C`` or ``write:C`` (C a collection name or ``*`` for all) or ``admin``.
Writing a collection implies reading it; ``admin`` implies reading and writing everything
(admins see insights across all collections). The user ``*`` grants to everyone, on top of
their own entry. Anyone not granted a collection can neither read nor write it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from qa.people.identity import User

EVERYONE = "*"
_COLLECTION = re.compile(r"\*|[A-Za-z0-9][A-Za-z0-9._-]*")
_USER = re.compile(r"\*|\w[\w.@-]{0,199}")


class Grant(BaseModel):
    """What one user (or ``*``, everyone) is granted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    admin: bool = False

    @field_validator("read", "write")
    @classmethod
    def _collections(cls, names: frozenset[str]) -> frozenset[str]:
        bad = sorted(n for n in names if not _COLLECTION.fullmatch(n))
        if bad:
            raise ValueError(f"invalid collection name(s) {bad}")
        return names

    def merge(self, other: Grant) -> Grant:
        return Grant(
            read=self.read | other.read,
            write=self.write | other.write,
            admin=self.admin or other.admin,
        )


class Policy:
    """Answers ``can_read``, ``can_write``, ``is_admin`` for a user; pure, no I/O after parsing."""

    def __init__(self, grants: dict[str, Grant] | None) -> None:
        """``grants`` by user name (``*`` = everyone); None means everything is allowed."""
        self._grants = grants

    @classmethod
    def open(cls) -> Policy:
        return cls(None)

    @classmethod
    def parse(cls, value: str | None) -> Policy:
        """``CITEQA_ACCESS``: unset, inline rules, or the path of a TOML file."""
        if value is None or not value.strip():
            return cls.open()
        try:
            if "=" in value:
                return cls(_parse_inline(value))
            return cls(_parse_toml(Path(value.strip())))
        except (ValidationError, ValueError) as exc:
            raise ValueError(f"CITEQA_ACCESS: {_message(exc)}") from None

    @property
    def restricted(self) -> bool:
        """Whether any rule applies (else everyone may do everything)."""
        return self._grants is not None

    def _grant(self, user: User | str) -> Grant:
        assert self._grants is not None
        name = user.name if isinstance(user, User) else user
        own = self._grants.get(name, Grant())
        return own.merge(self._grants[EVERYONE]) if EVERYONE in self._grants else own

    def is_admin(self, user: User | str) -> bool:
        return self._grants is None or self._grant(user).admin

    def can_write(self, user: User | str, collection: str) -> bool:
        if self._grants is None:
            return True
        grant = self._grant(user)
        return grant.admin or bool(grant.write & {collection, EVERYONE})

    def can_read(self, user: User | str, collection: str) -> bool:
        if self._grants is None:
            return True
        grant = self._grant(user)
        return grant.admin or bool((grant.read | grant.write) & {collection, EVERYONE})

    def readable(self, user: User | str, collections: Iterable[str]) -> list[str]:
        """The collections among ``collections`` the user may read, in their order."""
        return [c for c in collections if self.can_read(user, c)]

    def writable(self, user: User | str, collections: Iterable[str]) -> list[str]:
        return [c for c in collections if self.can_write(user, c)]


def _parse_inline(value: str) -> dict[str, Grant]:
    grants: dict[str, Grant] = {}
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        user, sep, rest = entry.partition("=")
        user = user.strip()
        if not sep or not _USER.fullmatch(user):
            raise ValueError(f"{entry!r}: expected user=grant,grant (e.g. alice=read:news)")
        read: set[str] = set()
        write: set[str] = set()
        admin = False
        for token in (t.strip() for t in rest.split(",")):
            kind, _, collection = token.partition(":")
            if token == "admin":
                admin = True
            elif kind in ("read", "write") and collection:
                (read if kind == "read" else write).add(collection.strip())
            else:
                raise ValueError(f"{user}: unknown grant {token!r} (use read:C, write:C or admin)")
        _add(grants, user, {"read": read, "write": write, "admin": admin})
    return grants


def _parse_toml(path: Path) -> dict[str, Grant]:
    if not path.is_file():
        raise ValueError(
            f"{path} is not a file (inline rules look like 'alice=read:news;bob=read:*')"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    grants: dict[str, Grant] = {}
    for user, table in data.items():
        if not isinstance(table, dict) or not _USER.fullmatch(user):
            raise ValueError(f"{path}: [{user}] must be a table named after a user")
        _add(grants, user, table, where=f"{path}: ")
    return grants


def _add(grants: dict[str, Grant], user: str, fields: object, where: str = "") -> None:
    if user in grants:
        raise ValueError(f"{where}{user} is listed twice")
    try:
        grants[user] = Grant.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(f"{where}{user}: {_message(exc)}") from None


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
    return str(exc)
