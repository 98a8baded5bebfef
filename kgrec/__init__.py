"""kgrec core: settings, the exception hierarchy and the names shared by every package.

The feature packages (``graph``, ``loaders``, ``text_encoders``, ``gnn``, ``api``)
import from here; this package imports none of them.
"""

from kgrec.errors import KgrecError
from kgrec.settings import Settings

__all__ = ["KgrecError", "Settings"]
