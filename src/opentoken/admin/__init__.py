"""The admin API (``/admin/v1``) and the admin CLI commands, over the same ``AdminServices``."""
