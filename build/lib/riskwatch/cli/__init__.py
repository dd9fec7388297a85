"""The ``riskwatch`` command: one typer app, a command per job; each module adds its commands.

Commands are thin: parse, call, print. A :class:`~riskwatch.errors.RiskwatchError` becomes
one line on stderr and its exit code; anything else is a bug and keeps its traceback. A cron tick
with nothing new is answered by :mod:`riskwatch.quick` before typer or pydantic is imported.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``riskwatch`` console script."""
    from riskwatch.runtime import prepare_environment

    prepare_environment()  # before numpy/scikit-learn load: OpenMP threads sleep, not spin
    args = list(sys.argv[1:] if argv is None else argv)
    from riskwatch.quick import try_nothing_new

    code = try_nothing_new(args)
    if code is not None:
        raise SystemExit(code)
    from riskwatch.cli.commands import run_app

    run_app(args)
