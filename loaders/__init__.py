"""kgrec loaders package."""
