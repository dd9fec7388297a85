"""Ingestion: where data comes from (sources/), the pure rules (rules.py) and the job (job.py)."""
