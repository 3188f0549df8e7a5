"""Fields the business defines (README "Custom fields"): their definitions, per record kind
(customers, deals, interactions), the administrators' page that manages them, and the cleaning
of a value of each type. Sales and interactions use the same machinery for their records, which
is why it lives with customers, the lowest domain app (pyproject.toml's layers)."""
