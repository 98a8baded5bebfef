"""kgrec core: settings, the exception hierarchy and the names shared by every package.

The feature packages (``graph``, ``loaders``, ``text_encoders``, ``gnn``, ``api``)
import from here; this package imports none of them, but for
:mod:`kgrec.settings`, whose ``gnn`` section is :class:`kgrec.gnn.config.GNNConfig` (a
leaf module that imports only :mod:`kgrec.errors`). Only entry points import
:mod:`kgrec.settings`, so it is not re-exported here.
"""

from kgrec.errors import KgrecError

__all__ = ["KgrecError"]
