"""Configs written by ``riskwatch init``: a template for your data, the demo, or a proposal."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskwatch.proposal import Proposal

DEMO_CONFIG = """\
# riskwatch configuration for the built-in demo (`riskwatch init --demo`). Paths are relative to this file.
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
calibration = "auto"               # auto | sigmoid | isotonic | none
recency = "auto"                   # auto: weigh recent months by out-of-time validation | none
seed = 0
cv_folds = 5
time_budget_seconds = 30          # for the model search of `auto`
# max_rows = 2000000               # fit on a stratified sample of at most this many labelled
                                   # rows (recorded in the model card); unset: all of them

[scoring]
threshold = "capacity"             # "capacity" (the risk of the last client the team can call),
                                   # "f1" (the F1-best cut, chosen out of time) or a number
top_k_fraction = 0.1               # the share of clients the team can call
top_k_count = 100                  # and a fixed number of calls (the team's capacity)
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
# public_docs = false              # true: /docs and /openapi.json without the key

[schedule]
every = "1d"
"""

OWN_DATA_TEMPLATE = """\
# riskwatch configuration for your own data. Paths are relative to this file.
# Fill in the [contract] with your column names (`riskwatch init --from sample.csv` proposes them
# from a sample file), point a source at your data, then run `riskwatch run`.
# Environment overrides (secrets, URLs): RISKWATCH_WORKSPACE, RISKWATCH_METADATA_URL,
# RISKWATCH_API_KEY, RISKWATCH_API_HOST, RISKWATCH_API_PORT and
# RISKWATCH_SOURCE_<NAME>_URL / _PATH / _TABLE for a source called <name>.

[workspace]
path = "workspace"                 # all state: metadata, datasets, models, reports

[contract]                         # what the columns mean; nothing is assumed in code
id_column = "client_id"            # CHANGE: one value per client
target_column = "churned"          # CHANGE: the outcome (did the client leave?)
positive_label = 1                 # e.g. 1, "Yes", "Attrited Customer"
# negative_label = 0               # needed when it cannot be guessed from positive_label
exclude = []                       # columns that are neither features nor kept
# snapshot_column = "as_of"        # optional: the date a record describes (monthly snapshots)
# value_column = "annual_revenue"  # optional: revenue at risk in the call list
dedupe = "identical"               # "identical" rows collapse; "latest" record per id+snapshot

[sources.drop]
kind = "folder"                    # every *.csv / *.parquet dropped here, new by content hash
path = "incoming"

# [sources.crm]
# kind = "sql"                     # a table watched by an increasing watermark column
# url = "postgresql://user@db.internal:5432/crm"   # better: RISKWATCH_SOURCE_CRM_URL
# table = "client_snapshots"
# watermark = "updated_at"

[scoring]
threshold = "capacity"             # "capacity", "f1" or a number
top_k_count = 100                  # how many clients the team can call

[schedule]
every = "1d"
"""


def from_proposal(proposal: Proposal, sample: str) -> str:
    """A commented config for the user's data from a proposed contract."""

    def value(v: Any) -> str:
        return json.dumps(v)

    why = proposal.reasons
    lines = [
        f"# riskwatch configuration proposed from {sample}. Review every guess (the reason is",
        "# beside it), then run `riskwatch run`. Paths are relative to this file.",
        "",
        "[workspace]",
        'path = "workspace"',
        "",
        "[contract]",
    ]

    def entry(key: str, v: Any, reason_key: str | None = None) -> None:
        reason = why.get(reason_key or key)
        text = f"{key} = {value(v)}"
        lines.append(f"{text:<40} # {reason}" if reason else text)

    if proposal.id_column:
        entry("id_column", proposal.id_column)
    else:
        lines.append('id_column = "CHANGE_ME"                # no column with one value per row')
    if proposal.target_column:
        entry("target_column", proposal.target_column)
        entry("positive_label", proposal.positive_label)
        entry("negative_label", proposal.negative_label, "none")
    else:
        lines.append('target_column = "CHANGE_ME"            # no two-valued column found')
    if proposal.snapshot_column:
        entry("snapshot_column", proposal.snapshot_column)
        lines.append(
            'dedupe = "latest"                        # one record per client and snapshot'
        )
    if proposal.value_column:
        entry("value_column", proposal.value_column)
    lines.append(f"exclude = {value(proposal.exclude)}")
    for col in proposal.exclude:
        lines.append(f"#   {col}: {why.get(f'exclude.{col}', '')}")
    if proposal.categorical:
        lines.append(f"categorical = {value(proposal.categorical)}   # text columns")
    if proposal.sensitive:
        lines.append(
            f"sensitive = {value(proposal.sensitive)}   # protected attributes: not features, "
            "but group metrics are reported"
        )
        lines.append("# use_sensitive = false                  # true: use them as features anyway")
    for col in proposal.sensitive:
        lines.append(f"# WARNING {col}: {why.get(f'sensitive.{col}', '')}")
    lines += [
        "",
        "[sources.drop]",
        'kind = "folder"',
        'path = "incoming"                        # put files like the sample here',
        "",
        "[scoring]",
        'threshold = "capacity"',
        "top_k_count = 100",
    ]
    return "\n".join(lines) + "\n"
