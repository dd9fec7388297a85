"""The ``riskwatch`` logger and the rotating log file of scheduled runs (stdlib only)."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("riskwatch")
log.addHandler(logging.NullHandler())  # errors reach the terminal once, via the CLI


def cron_logging(log_dir: Path) -> None:
    """Log to ``log_dir/riskwatch.log``, rotated at 1 MB, 5 files kept (idempotent)."""
    from logging.handlers import RotatingFileHandler

    target = (log_dir / "riskwatch.log").resolve()
    if any(getattr(h, "baseFilename", None) == str(target) for h in log.handlers):
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(target, maxBytes=1_000_000, backupCount=5)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
