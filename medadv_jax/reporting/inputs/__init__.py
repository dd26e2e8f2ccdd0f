"""What the report reads: results rows and their views, per-image data, the
cells' environments, a published study's cells archive."""
