"""Cron entries for ``riskwatch run``: the line, install (idempotent), show, remove, next run.

Crontab editing goes through python-crontab; each entry is tagged with a comment naming
the config it runs, so installing twice leaves one entry per config.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from riskwatch.errors import ConfigError

TAG = "riskwatch:"
_EVERY = re.compile(r"^(\d+)\s*(m|min|h|d)$")


@dataclass(frozen=True)
class CronEntry:
    """A cron schedule and the command it runs."""

    schedule: str
    command: str
    comment: str

    @property
    def line(self) -> str:
        """The crontab line (what ``crontab -l`` shows)."""
        return f"{self.schedule} {self.command} # {self.comment}"


def to_schedule(every: str) -> str:
    """Turn ``10m``/``2h``/``1d`` or a 5-field cron expression into a cron schedule.

    Raises:
        ConfigError: neither an interval nor a valid cron expression.
    """
    from crontab import CronSlices

    text = every.strip()
    match = _EVERY.match(text)
    if match:
        n, unit = int(match[1]), match[2]
        if unit in ("m", "min") and 1 <= n < 60 and 60 % n == 0:
            return "* * * * *" if n == 1 else f"*/{n} * * * *"
        if unit == "h" and 1 <= n <= 24 and 24 % n == 0:
            return "0 * * * *" if n == 1 else f"0 */{n} * * *"
        if unit == "d" and n == 1:
            return "0 2 * * *"
        raise ConfigError(
            f"schedule {every!r}: use minutes dividing 60, hours dividing 24, 1d, or a cron expression"
        )
    if CronSlices.is_valid(text):
        return text
    raise ConfigError(f"schedule {every!r}: not an interval (10m, 2h, 1d) nor a cron expression")


def entry_for(
    config: Path, log_dir: Path, every: str, *, executable: str | None = None
) -> CronEntry:
    """The cron entry running this installation's riskwatch on ``config``.

    Uses the absolute path of this interpreter so cron's minimal environment (no PATH,
    no virtualenv activation) runs the same installation.
    """
    python = executable or sys.executable
    cfg = config.resolve()
    out = log_dir.resolve() / "cron-output.log"
    command = (
        f"cd {shlex.quote(str(cfg.parent))} && {shlex.quote(python)} -m riskwatch "
        f"--config {shlex.quote(str(cfg))} run --cron >> {shlex.quote(str(out))} 2>&1"
    )
    return CronEntry(schedule=to_schedule(every), command=command, comment=f"{TAG}{cfg}")


def install(entry: CronEntry, *, user: Any = True) -> None:
    """Write ``entry`` to the user's crontab, replacing any earlier entry for the same config."""
    from crontab import CronTab

    tab = CronTab(user=user)
    tab.remove_all(comment=entry.comment)
    job = tab.new(command=entry.command, comment=entry.comment)
    job.setall(entry.schedule)
    tab.write()


def installed(config: Path, *, user: Any = True) -> list[str]:
    """The crontab lines installed for ``config``."""
    from crontab import CronTab

    tab = CronTab(user=user)
    return [str(job) for job in tab.find_comment(f"{TAG}{config.resolve()}")]


def remove(config: Path, *, user: Any = True) -> int:
    """Remove the entries for ``config``; returns how many were removed."""
    from crontab import CronTab

    tab = CronTab(user=user)
    found = list(tab.find_comment(f"{TAG}{config.resolve()}"))
    if found:
        tab.remove_all(comment=f"{TAG}{config.resolve()}")
        tab.write()
    return len(found)


def next_run(schedule: str, *, after: datetime | None = None) -> datetime:
    """When a schedule fires next (local time)."""
    from croniter import croniter

    return croniter(schedule, after or datetime.now()).get_next(datetime)
