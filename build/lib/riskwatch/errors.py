"""User-facing errors: one line, naming what is wrong and where.

The CLI maps them to exit codes, the API to JSON problems. Anything that is
not a ``RiskwatchError`` is a bug and keeps its traceback.
"""

from collections.abc import Iterable


def printable(text: object, limit: int = 80) -> str:
    """Text from a file or a person made safe for a one-line message: control, format and
    undecodable characters escaped (``\\n``, ``\\x00``, ``\\u202e``; a backslash doubled, so
    two names never look alike) and anything beyond ``limit`` characters cut.
    """
    text = str(text)
    if len(text) <= limit and text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text[: limit + 1]:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x100:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{code:02x}"))
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    shown = "".join(out[:limit]) if len(out) > limit else "".join(out)
    return shown + (f"... ({len(text)} characters)" if len(text) > limit else "")


def printable_names(names: Iterable[object], limit: int = 10) -> str:
    """Names (columns, files) for a message: quoted and escaped, the first ``limit`` of them,
    then "and N more", so a file with 10,000 columns still gives one short line."""
    items = [str(n) for n in names]
    if not items:
        return "none"
    head = ", ".join(f"'{printable(n, 40)}'" for n in items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


class RiskwatchError(Exception):
    """An error caused by input, configuration or environment, not by a bug."""

    exit_code = 1
    http_status = 400


class ConfigError(RiskwatchError):
    """The configuration file or an environment override is invalid."""

    exit_code = 2


class DataError(RiskwatchError):
    """A batch of data breaks the data contract as a whole."""

    exit_code = 3
    http_status = 422


class SourceUnavailable(RiskwatchError):
    """A source (database, folder) cannot be reached right now; retry later."""

    exit_code = 4
    http_status = 503


class LockBusy(RiskwatchError):
    """Another riskwatch process holds the workspace lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later
    http_status = 409


class ModelError(RiskwatchError):
    """No usable model, or an artifact failed its integrity check."""

    exit_code = 5
    http_status = 503


class NotFound(RiskwatchError):
    """A requested object (model version, dataset, report) does not exist."""

    exit_code = 6
    http_status = 404


def require(module: str, extra: str, what: str) -> None:
    """Raise a one-line ConfigError when an optional package (from an extra) is not installed.

    Raises:
        ConfigError: naming what needs it and the ``pip install`` that brings it.
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"{what} needs the '{extra}' extra, which is not installed: "
            f"pip install 'riskwatch[{extra}]'"
        )
