"""The study's figures, written from the results rows."""
