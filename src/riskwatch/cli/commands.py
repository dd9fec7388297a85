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
from riskwatch.cli import alerts as _alerts  # noqa: F401  isort: skip
from riskwatch.cli import cluster as _cluster  # noqa: F401  isort: skip

__all__ = ["app", "run_app"]


def run_app(argv: list[str]) -> None:
    """Run the full CLI; user errors become one line on stderr and their exit code.

    A bad flag, a missing argument or a bad value is a usage error: one line naming the command
    and what is wrong, exit 2 (as a configuration error).
    """
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    try:
        code = app(args=argv, prog_name="riskwatch", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "riskwatch -h for help")
        raise SystemExit(0) from None
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "riskwatch"
        message = " ".join(exc.format_message().split())
        print(f"riskwatch: error: {where}: {message} (see {where} -h)", file=sys.stderr)
        raise SystemExit(2) from None
    except RiskwatchError as exc:
        print(f"riskwatch: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except OSError as exc:  # the environment (a path, a permission, a full disk), not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"riskwatch: error: {where}{exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(6 if isinstance(exc, FileNotFoundError) else 1) from None
    except (KeyboardInterrupt, EOFError):
        print("riskwatch: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
