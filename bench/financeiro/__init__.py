"""financeiro's posting and reports through the ledger service contract next to
hand-written SQL doing the same work (``python -m bench.financeiro``)."""
