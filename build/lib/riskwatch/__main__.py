"""``python -m riskwatch`` runs the CLI."""

from riskwatch.cli import main

main()
