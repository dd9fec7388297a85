"""Reporting: figures from results (figures.py) and the HTML/PDF report job (report.py)."""
