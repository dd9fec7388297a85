"""The ``riskwatch`` command: one typer app, a command per job; each module adds its commands.

Commands are thin: parse, call, print. A :class:`~riskwatch.errors.RiskwatchError` becomes
one line on stderr and its exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

from riskwatch.cli.common import app
from riskwatch.errors import RiskwatchError

# command modules register themselves on ``app`` when imported
from riskwatch.cli import data as _data  # noqa: F401  isort: skip
from riskwatch.cli import pipeline as _pipeline  # noqa: F401  isort: skip
from riskwatch.cli import models as _models  # noqa: F401  isort: skip
from riskwatch.cli import serve as _serve  # noqa: F401  isort: skip
from riskwatch.cli import results as _results  # noqa: F401  isort: skip
from riskwatch.cli import alerts as _alerts  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``riskwatch`` console script."""
    try:
        app(args=argv, prog_name="riskwatch")
    except RiskwatchError as exc:
        print(f"riskwatch: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("riskwatch: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
