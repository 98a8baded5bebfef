"""ValidationOptions: the limits and separators an import validates with.

:func:`validation_options` turns the loaders section of the settings into them,
here and nowhere else (as :mod:`kgrec.graph.session` does for the graph section); the
loaders' classes take these values, never the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from kgrec.settings import LoaderSettings


@dataclass(frozen=True)
class ValidationOptions:
    """Limits and default separators of validation (the ``KGREC_LOADERS__*`` settings).

    Attributes:
        max_title_chars: longest id, title or name accepted.
        max_text_chars: longest description or text attribute accepted.
        category_separator: separator of category path strings (a mapping section's
            own wins).
        list_separator: separator of list cells (ids; a mapping section's own wins).
    """

    max_title_chars: int
    max_text_chars: int
    category_separator: str
    list_separator: str


def validation_options(loaders: LoaderSettings) -> ValidationOptions:
    """The limits and separators the loaders settings section names."""
    return ValidationOptions(
        max_title_chars=loaders.max_title_chars,
        max_text_chars=loaders.max_text_chars,
        category_separator=loaders.category_separator,
        list_separator=loaders.list_separator,
    )
