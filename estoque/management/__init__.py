"""estoque's management commands."""
