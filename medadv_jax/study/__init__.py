"""The study: config -> independent, resumable cells -> aggregated results."""
