"""``riskwatch run``: the step wiring (run.py) and the cron schedule (schedule.py)."""
