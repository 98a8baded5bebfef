"""The one exception hierarchy of kgrec.

Every error kgrec raises on purpose is a :class:`KgrecError`. Messages say what a
user can act on: the file, row and column; the URI; the valid values.
"""

from __future__ import annotations

from collections.abc import Iterable


class KgrecError(Exception):
    """Base class of every error kgrec raises on purpose."""


class ConfigError(KgrecError):
    """A setting or argument has a value kgrec cannot use."""


def invalid_choice(name: str, value: object, valid: Iterable[str]) -> ConfigError:
    """Build the error for a value outside a fixed set, listing the valid values."""
    options = ", ".join(repr(v) for v in valid)
    return ConfigError(f"{name}={value!r} is not valid; choose one of: {options}")


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
