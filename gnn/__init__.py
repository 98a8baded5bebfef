"""kgrec gnn package."""
