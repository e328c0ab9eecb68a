"""Identity: API keys (named or bare), page logins, the local user, and bad entries."""

from __future__ import annotations

import hashlib

import pytest

from qa.config import Settings
from qa.people.identity import LOCAL_USER, Identity, User


def identity(api_keys: str | None = None, ui_users: str | None = None) -> Identity:
    return Identity.from_settings(Settings(api_keys=api_keys, ui_users=ui_users))


def test_named_and_bare_keys_resolve_to_their_users() -> None:
    ids = identity(api_keys=" alice:s3cret:with-colon , bare-key-1,bob:k2 ")
    assert ids.resolve_key("s3cret:with-colon") == User(name="alice", via="key")
    assert ids.resolve_key("k2") == User(name="bob", via="key")
    bare = ids.resolve_key("bare-key-1")
    assert bare is not None
    assert bare.name == "key-" + hashlib.sha256(b"bare-key-1").hexdigest()[:8]
    assert ids.resolve_key(" k2 ") == User(name="bob", via="key")  # header whitespace
    for wrong in ("", "k", "k22", "alice", "alice:s3cret:with-colon"):
        assert ids.resolve_key(wrong) is None
    assert ids.keys_required and not ids.login_required


def test_a_bare_key_keeps_its_user_when_the_list_is_reordered() -> None:
    first = identity(api_keys="one,two").resolve_key("two")
    second = identity(api_keys="two,one").resolve_key("two")
    assert first == second and first is not None and "two" not in first.name


def test_one_user_may_hold_several_keys() -> None:
    ids = identity(api_keys="alice:old,alice:new")
    assert ids.resolve_key("old") == ids.resolve_key("new") == User(name="alice", via="key")


def test_page_logins_check_passwords() -> None:
    ids = identity(ui_users="alice:pw1, bob:p:w2")
    assert ids.check_password("alice", "pw1")
    assert ids.check_password("bob", "p:w2")
    assert not ids.check_password("alice", "pw2")
    assert not ids.check_password("alice", "")
    assert not ids.check_password("carol", "pw1")
    assert ids.login("bob", "p:w2") == User(name="bob", via="password")
    assert ids.login("bob", "nope") is None
    assert ids.login_required and not ids.keys_required


def test_non_ascii_names_and_passwords_work() -> None:
    ids = identity(ui_users="zoë:pässwörd")
    assert ids.check_password("zoë", "pässwörd")
    assert not ids.check_password("zoe", "pässwörd")
    assert not ids.check_password("zoë", "passwort")


def test_with_nothing_configured_there_is_one_local_user() -> None:
    ids = identity()
    assert not ids.keys_required and not ids.login_required
    assert ids.local_user == User(name=LOCAL_USER, via="local")
    assert ids.resolve_key("anything") is None


@pytest.mark.parametrize(
    ("api_keys", "ui_users", "message"),
    [
        ("al ice:k", None, "API_KEYS: .*invalid user name 'al ice'"),
        (":k", None, "API_KEYS: .*invalid user name ''"),
        ("alice:", None, "API_KEYS: .*key is empty"),
        ("k1,alice:k1", None, "API_KEYS: the same key is listed twice"),
        (None, "alice", "UI_USERS: entries must be user:password"),
        (None, "alice:", "UI_USERS: entries must be user:password"),
        (None, "alice:a,alice:b", "UI_USERS: a user is listed twice"),
        (None, "-x:pw", "UI_USERS: .*invalid user name"),
    ],
)
def test_bad_entries_are_refused_with_the_setting_named(
    api_keys: str | None, ui_users: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        identity(api_keys=api_keys, ui_users=ui_users)


def test_errors_never_echo_a_secret() -> None:
    with pytest.raises(ValueError) as caught:
        identity(ui_users="alice:topsecret,alice:othersecret")
    assert "secret" not in str(caught.value)
