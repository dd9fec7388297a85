"""The read side: one module per question people ask, shared by the CLI, API, dashboard and report."""
