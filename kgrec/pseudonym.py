"""Pseudonymous shopper ids: a keyed hash in place of the id a file or a client gives.

With ``KGREC_PSEUDONYMISE_SALT`` set, every shopper id is replaced, as soon as it
is read (an import chunk, an API request, ``kgrec users delete``), by
``u_`` + the first 32 hex digits of HMAC-SHA256(salt, id). The graph, the event
log, the event-id ledger, the caches and the artifacts then hold only that
pseudonym; the same id and salt always give the same one, so a shopper is
recognised across imports, requests and restarts. It is keyed, so ids cannot be
recovered by hashing guesses without the salt; and it is one-way, so a lost salt
cannot be recovered and pseudonyms cannot be mapped back to ids (README, Privacy).

The salt is read at the entry points (CLI commands, the API app) and passed down
as a :class:`Pseudonymiser`; :meth:`Pseudonymiser.identity` (no salt) keeps ids as
they are.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Final

from pydantic import SecretStr

from kgrec.errors import ConfigError

PREFIX: Final = "u_"
"""Marks a pseudonym, so it is told apart from an id at a glance."""
HEX_DIGITS: Final = 32
"""Hex digits of the HMAC kept (128 bits)."""
MIN_SALT_CHARS: Final = 16
SALT_SETTING: Final = "KGREC_PSEUDONYMISE_SALT"


def salt_problem(salt: str) -> str | None:
    """Why ``salt`` cannot key the pseudonyms (None: it can)."""
    if len(salt) >= MIN_SALT_CHARS:
        return None
    return (
        f"{SALT_SETTING} must be at least {MIN_SALT_CHARS} characters (got {len(salt)}); "
        'make one with: python -c "import secrets; print(secrets.token_hex(16))", '
        "and keep it safe: a lost salt cannot be recovered"
    )


@dataclass(frozen=True, slots=True)
class Pseudonymiser:
    """Maps a shopper id to its pseudonym (or to itself, without a key).

    Attributes:
        key: the HMAC key (the salt's UTF-8 bytes); None = ids are kept as they are.
    """

    key: bytes | None = field(default=None, repr=False)

    @classmethod
    def identity(cls) -> Pseudonymiser:
        """Pseudonymisation off: every id is its own pseudonym."""
        return cls(None)

    @classmethod
    def from_salt(cls, salt: SecretStr | str | None) -> Pseudonymiser:
        """Keyed by ``salt`` (the ``KGREC_PSEUDONYMISE_SALT`` setting); None = off.

        Raises:
            ConfigError: the salt is shorter than 16 characters.
        """
        if salt is None:
            return cls.identity()
        text = salt.get_secret_value() if isinstance(salt, SecretStr) else salt
        problem = salt_problem(text)
        if problem is not None:
            raise ConfigError(problem)
        return cls(text.encode("utf-8"))

    @property
    def enabled(self) -> bool:
        """True when ids are replaced by keyed hashes."""
        return self.key is not None

    def __call__(self, user_id: str) -> str:
        """The pseudonym of ``user_id``: ``u_`` + 32 hex digits (the id itself when off)."""
        if self.key is None:
            return user_id
        digest = hmac.new(self.key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return PREFIX + digest[:HEX_DIGITS]

    def optional(self, user_id: str | None) -> str | None:
        """The pseudonym of ``user_id``; None (an anonymous request) stays None."""
        return None if user_id is None else self(user_id)
