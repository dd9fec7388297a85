"""The typer app with every command registered (imported only when the fast path does not
answer; see :mod:`riskwatch.cli`)."""

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

__all__ = ["app", "run_app"]


def run_app(argv: list[str]) -> None:
    """Run the full CLI; user errors become one line on stderr and their exit code."""
    try:
        app(args=argv, prog_name="riskwatch")
    except RiskwatchError as exc:
        print(f"riskwatch: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("riskwatch: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
