"""kgrec text_encoders package."""
