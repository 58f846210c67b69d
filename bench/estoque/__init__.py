"""estoque's reserve and ship through the service contract next to hand-written
SQL doing the same database effects (``python -m bench.estoque``)."""
