"""The one exception hierarchy of kgrec.

Every error kgrec raises on purpose is a :class:`KgrecError`. Messages say what a
user can act on: the file, row and column; the URI; the valid values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Final

_CUTOFF: Final = 0.6
_PREFIX_CHARS: Final = 3


class KgrecError(Exception):
    """Base class of every error kgrec raises on purpose."""


class ConfigError(KgrecError):
    """A setting or argument has a value kgrec cannot use."""


def invalid_choice(name: str, value: object, valid: Iterable[str]) -> ConfigError:
    """Build the error for a value outside a fixed set, listing the valid values."""
    options = ", ".join(repr(v) for v in valid)
    return ConfigError(f"{name}={value!r} is not valid; choose one of: {options}")


def closest(name: str, candidates: Sequence[str], n: int = 1) -> list[str]:
    """Up to ``n`` candidates most like ``name`` (case-insensitive; a prefix counts).

    ``difflib.get_close_matches`` finds ``category`` -> ``category_ids``; a
    prefix of at least three characters finds ``desc`` -> ``description``.
    """
    lowered = {c.lower(): c for c in reversed(candidates)}
    key = name.strip().lower()
    scored: dict[str, float] = {}
    for match in difflib.get_close_matches(key, list(lowered), n=max(n, 3), cutoff=_CUTOFF):
        scored[lowered[match]] = difflib.SequenceMatcher(None, key, match).ratio()
    if len(key) >= _PREFIX_CHARS:
        for low, original in lowered.items():
            if low != key and (low.startswith(key) or key.startswith(low)) and len(low) >= 2:
                scored.setdefault(original, _CUTOFF)
    return sorted(scored, key=lambda c: (-scored[c], candidates.index(c)))[:n]


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` naming the candidate most like ``name``, else ``""``.

    The match is :func:`closest`'s.
    """
    match = closest(name, candidates)
    return f"; did you mean {match[0]!r}?" if match else ""


class GraphError(KgrecError):
    """Base class of graph-layer errors."""


class GraphConnectionError(GraphError):
    """No graph server answers at the configured URI, or it refused the credentials."""


class EmbeddedServerError(GraphError):
    """The embedded ArcadeDB Bolt server could not be started, found or stopped."""


class WriteQueryRejectedError(GraphError):
    """An exploration query contains a write clause and was not run."""


class QueryError(GraphError):
    """The graph server rejected a query (syntax, constraint, type)."""


class NotFoundError(KgrecError):
    """A named node, artifact or file does not exist."""


class DataValidationError(KgrecError):
    """Input data failed validation; the message names file, row, column and reason."""


class EncoderError(KgrecError):
    """The text encoder could not be loaded or was given input it cannot encode."""


class ModelError(KgrecError):
    """A model, checkpoint or snapshot is missing or does not match its companions."""


class ArtifactError(KgrecError):
    """A serving artifact directory is missing, incomplete or inconsistent."""


class DatasetError(KgrecError):
    """A public dataset could not be fetched, verified or read."""


class ServiceUnavailableError(GraphConnectionError):
    """The API cannot do this now because the graph server does not answer (api/app.py: 503)."""


class AuthenticationError(KgrecError):
    """A request lacks the API key an endpoint requires, or sent a wrong one (api/app.py: 401)."""
