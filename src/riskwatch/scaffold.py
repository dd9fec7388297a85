"""The commented default configuration written by ``riskwatch init``."""

from __future__ import annotations

DEFAULT_CONFIG = """\
# riskwatch configuration. Paths are relative to this file.
# Environment overrides (secrets, URLs): RISKWATCH_WORKSPACE, RISKWATCH_METADATA_URL,
# RISKWATCH_API_KEY, RISKWATCH_API_HOST, RISKWATCH_API_PORT and
# RISKWATCH_SOURCE_<NAME>_URL / _PATH / _TABLE for a source called <name>.

[workspace]
path = "workspace"                 # all state: metadata, datasets, models, reports
# metadata_url = "postgresql://user@127.0.0.1:5432/riskwatch"   # default: SQLite in the workspace

[contract]                         # what the columns mean; nothing is assumed in code
id_column = "corporation"
target_column = "exited"
positive_label = 1                 # e.g. 1, "Yes", "Attrited Customer"
# negative_label = 0               # needed when it cannot be guessed from positive_label
# features = ["lastmonth_activity", "lastyear_activity"]   # default: every other column
exclude = []                       # columns that are neither features nor kept
# categorical = ["industry"]      # default: inferred (text columns)
snapshot_column = "snapshot_date"  # optional: the date a record describes
value_column = "contract_value"    # optional: revenue at risk in the call list
dedupe = "latest"                  # "identical" rows collapse, or "latest" record per id+snapshot

# Where new data arrives. Any number of sources, each a table of its own.
[sources.demo]
kind = "sql"                       # a table watched by an increasing watermark column
url = "sqlite:///workspace/demo-source.db"   # any SQLAlchemy URL, e.g. postgresql+psycopg://...
table = "clients"
watermark = "row_id"               # an increasing id or an updated-at timestamp
chunk_rows = 100000
lookback_rows = 1000               # ids re-read below the last one (late commits); times: lookback = "5m"
max_field_chars = 10000            # a longer value sends its row to quarantine

# [sources.drop]
# kind = "folder"                  # every *.csv / *.parquet under the folder, new by content hash
# path = "incoming"
# settle_seconds = 3               # a file is read once unchanged this long (*.tmp, .x never)

[evaluation]
# path = "testdata"                # labelled evaluation data (file or folder); default: a hold-out
holdout_fraction = 0.2

[training]
model = "auto"                     # auto | logistic | gradient_boosting | course
calibration = "sigmoid"            # sigmoid | isotonic | none
seed = 0
cv_folds = 5
time_budget_seconds = 120

[scoring]
threshold = 0.5
top_k_fraction = 0.1               # the share of clients the team can call
top_k_count = 100                  # and a fixed number of calls
primary_metric = "roc_auc"         # the gate's and drift's metric (f1 for the course)

[deploy]
tolerance = 0.0                    # a challenger may be this much worse and still win
# max_model_age_days = 90

[monitoring]
drift_share = 0.5                  # dataset drift when this share of features drifted

[api]
host = "127.0.0.1"
port = 8000
# api_key = "..."                  # better: RISKWATCH_API_KEY; required to bind beyond loopback

[schedule]
every = "1d"
"""
