"""kgrec api package."""
