"""Pseudonymous shopper ids: the keyed hash, the salt setting and its length check."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from pydantic import SecretStr

from kgrec.errors import ConfigError
from kgrec.pseudonym import Pseudonymiser
from kgrec.settings import Settings

SALT = "correct-horse-battery-staple"
OTHER_SALT = "another-secret-of-some-length"


def test_same_id_and_salt_give_the_same_pseudonym_and_another_salt_another() -> None:
    first, again = Pseudonymiser.from_salt(SALT), Pseudonymiser.from_salt(SecretStr(SALT))
    pseudonym = first("shopper-42")
    assert re.fullmatch(r"u_[0-9a-f]{32}", pseudonym), pseudonym
    assert again("shopper-42") == pseudonym
    expected = hmac.new(SALT.encode(), b"shopper-42", hashlib.sha256).hexdigest()[:32]
    assert pseudonym == "u_" + expected  # HMAC-SHA256 keyed by the salt, not a plain hash
    assert Pseudonymiser.from_salt(OTHER_SALT)("shopper-42") != pseudonym
    assert first("shopper-43") != pseudonym
    assert first("shopper-42 ") != pseudonym  # the id as given: callers normalise


def test_without_a_salt_ids_are_kept() -> None:
    off = Pseudonymiser.from_salt(None)
    assert off == Pseudonymiser.identity() and not off.enabled
    assert off("shopper-42") == "shopper-42"
    assert off.optional(None) is None
    assert Pseudonymiser.from_salt(SALT).optional(None) is None


def test_the_salt_is_not_in_the_repr() -> None:
    assert SALT not in repr(Pseudonymiser.from_salt(SALT))


def test_a_short_salt_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="KGREC_PSEUDONYMISE_SALT must be at least 16"):
        Pseudonymiser.from_salt("too-short")
    with pytest.raises(ConfigError, match="KGREC_PSEUDONYMISE_SALT must be at") as refused:
        Settings(pseudonymise_salt="too-short")
    assert "too-short" not in str(refused.value)  # the salt is not echoed
    monkeypatch.setenv("KGREC_PSEUDONYMISE_SALT", "x" * 15)
    with pytest.raises(ConfigError, match=r"at least 16 characters \(got 15\)"):
        Settings()
    monkeypatch.setenv("KGREC_PSEUDONYMISE_SALT", SALT)
    salt = Settings().pseudonymise_salt
    assert salt is not None and salt.get_secret_value() == SALT
    assert SALT not in repr(Settings())
