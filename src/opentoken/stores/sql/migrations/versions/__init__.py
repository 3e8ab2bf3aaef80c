"""Migration steps, one file per revision, applied in ``down_revision`` order."""
