"""The access policy: inline rules and TOML files, wildcards, roles, and refused rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.people.access import Policy
from qa.people.identity import User
from tests.conftest import ROOT

COLLECTIONS = ["news", "sports", "public"]
INLINE = "alice=read:news,write:news;bob=read:*;carol=admin;dave=write:sports;*=read:public"
TOML = """
[alice]
read = ["news"]
write = ["news"]

[bob]
read = ["*"]

[carol]
admin = true

[dave]
write = ["sports"]

["*"]
read = ["public"]
"""


def policies(tmp_path: Path) -> list[Policy]:
    path = tmp_path / "access.toml"
    path.write_text(TOML, encoding="utf-8")
    return [Policy.parse(INLINE), Policy.parse(str(path)), Policy.parse(f"  {path}\n")]


@pytest.mark.parametrize(
    ("user", "reads", "writes", "admin"),
    [
        ("alice", ["news", "public"], ["news"], False),
        ("bob", COLLECTIONS, [], False),
        ("carol", COLLECTIONS, COLLECTIONS, True),
        ("dave", ["sports", "public"], ["sports"], False),  # writing implies reading
        ("erin", ["public"], [], False),  # not listed: only what '*' grants
    ],
)
def test_inline_and_toml_rules_grant_the_same(
    tmp_path: Path, user: str, reads: list[str], writes: list[str], admin: bool
) -> None:
    for policy in policies(tmp_path):
        assert policy.restricted
        assert policy.readable(User(name=user), COLLECTIONS) == reads
        assert policy.writable(user, COLLECTIONS) == writes
        assert policy.is_admin(user) is admin
        assert policy.can_read(user, "unknown-collection") is (user in ("bob", "carol"))


def test_unset_means_everyone_may_do_everything() -> None:
    for value in (None, "", "  "):
        policy = Policy.parse(value)
        assert not policy.restricted
        assert policy.readable("anyone", COLLECTIONS) == COLLECTIONS
        assert policy.can_write("anyone", "x") and policy.is_admin("anyone")


def test_without_a_wildcard_unlisted_users_get_nothing() -> None:
    policy = Policy.parse("alice=read:news")
    assert policy.readable("bob", COLLECTIONS) == []
    assert not policy.can_write("alice", "news") and not policy.is_admin("alice")


def test_readable_keeps_the_callers_order_and_duplicates() -> None:
    policy = Policy.parse("alice=read:b,read:a")
    assert policy.readable("alice", ["c", "b", "a", "b"]) == ["b", "a", "b"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("alice", "alice is not a file"),
        ("alice=read", "unknown grant 'read'"),
        ("alice=read:", "unknown grant 'read:'"),
        ("alice=owner:news", "unknown grant 'owner:news'"),
        ("alice=read:bad name", "invalid collection name"),
        ("alice=read:a;alice=read:b", "alice is listed twice"),
        ("=read:a", "expected user=grant"),
        (";;", ";; is not a file"),
    ],
)
def test_bad_inline_rules_are_refused_with_a_reason(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"CITEQA_ACCESS: .*{message}"):
        Policy.parse(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[alice]\nread = "news"\n', "alice: read"),
        ("[alice]\nreed = ['news']\n", "alice: reed: Extra inputs"),
        ("[alice]\nadmin = 'yes please'\n", "alice: admin"),
        ("alice = 1\n", r"\[alice\] must be a table"),
        ("[alice\n", "access.toml"),
    ],
)
def test_bad_toml_files_are_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "access.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"CITEQA_ACCESS: .*{message}"):
        Policy.parse(str(path))


def test_the_readme_examples_parse_and_agree(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    inline = readme.split("CITEQA_ACCESS='", 1)[1].split("'", 1)[0]
    path = tmp_path / "access.toml"
    path.write_text(readme.split("```toml\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    from_inline, from_toml = Policy.parse(inline), Policy.parse(str(path))
    for user in ("alice", "carol", "zed"):  # the TOML example leaves bob out
        assert from_toml.readable(user, COLLECTIONS) == from_inline.readable(user, COLLECTIONS)
        assert from_toml.writable(user, COLLECTIONS) == from_inline.writable(user, COLLECTIONS)
        assert from_toml.is_admin(user) == from_inline.is_admin(user)
