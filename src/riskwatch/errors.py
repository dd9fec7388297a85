"""User-facing errors: one line, naming what is wrong and where.

The CLI maps them to exit codes, the API to JSON problems. Anything that is
not a ``RiskwatchError`` is a bug and keeps its traceback.
"""


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
