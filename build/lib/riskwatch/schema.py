"""The data contract, resolved against real columns: which column is the id, the label, a feature.

The settings say what the user declared; :class:`DataSchema` is what a dataset actually
has (features and their kinds fixed by the first accepted batch) and is stored with
every dataset version so later batches are checked against it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from riskwatch.errors import ConfigError, DataError, printable_names

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import ContractSettings

Label = int | str
HASH_COLUMN = "_rw_hash"  # the 64-bit content hash of a stored row (dedupe and row keys)
REASON_COLUMN = "_rw_reason"  # why a quarantined row was refused
ROW_COLUMN = "_rw_row"  # the 1-based row number of a record in its source unit
NULL_TOKENS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "none", "-")
_NEGATIVE_DEFAULTS = {"1": "0", "0": "1", "yes": "no", "no": "yes", "true": "false", "y": "n"}


@dataclass(frozen=True)
class DataSchema:
    """The resolved contract of one dataset."""

    id_column: str
    target_column: str
    positive_label: Label
    negative_label: Label
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    snapshot_column: str | None = None
    value_column: str | None = None
    dedupe: str = "identical"
    feature_order: tuple[str, ...] = field(default=())
    sensitive: tuple[str, ...] = field(default=())  # protected attributes: kept, for group metrics

    @property
    def features(self) -> tuple[str, ...]:
        """Model inputs in their original column order."""
        return self.feature_order or (*self.numeric, *self.categorical)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every stored column, in storage order."""
        extra = [
            c for c in (self.snapshot_column, self.value_column) if c and c not in self.numeric
        ]
        kept = [c for c in self.sensitive if c not in self.features and c not in extra]
        return (self.id_column, *self.features, *kept, *extra, self.target_column)

    @property
    def key(self) -> tuple[str, ...]:
        """The columns identifying one client record."""
        return (self.id_column, self.snapshot_column) if self.snapshot_column else (self.id_column,)

    def to_json(self) -> str:
        """Serialise for storage with a dataset version."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DataSchema:
        """Inverse of :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        for key in ("numeric", "categorical", "feature_order", "sensitive"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


def negative_label(contract: ContractSettings) -> Label:
    """The configured negative label, or the obvious complement of the positive one."""
    if contract.negative_label is not None:
        return contract.negative_label
    pos = contract.positive_label
    guess = _NEGATIVE_DEFAULTS.get(str(pos).strip().lower())
    if guess is None:
        raise ConfigError(
            f"contract.negative_label: required when positive_label is {pos!r} "
            "(say what the other class is called)"
        )
    if isinstance(pos, int):
        return int(guess)
    return guess.capitalize() if str(pos)[:1].isupper() else guess


def resolve_schema(contract: ContractSettings, frame: pd.DataFrame) -> DataSchema:
    """Fix the features and their kinds from the first batch and the declared contract.

    Args:
        contract: the declared contract.
        frame: the first batch as read (columns may still be text).

    Raises:
        DataError: a declared column is missing from the batch.
    """
    cols = list(frame.columns)
    declared = [contract.id_column, contract.target_column]
    declared += [c for c in (contract.snapshot_column, contract.value_column) if c]
    declared += list(contract.features or [])
    declared += list(contract.categorical or [])
    missing = [c for c in dict.fromkeys(declared) if c not in cols]
    if missing:
        raise DataError(f"missing column(s) {_names(missing)}; the batch has {_names(cols)}")
    special = {contract.id_column, contract.target_column, contract.snapshot_column}
    sensitive = [c for c in contract.sensitive if c in cols and c not in special]
    if contract.features is not None:
        features = list(contract.features)
    else:
        features = [c for c in cols if c not in special and c not in contract.exclude]
    if not contract.use_sensitive:
        features = [c for c in features if c not in sensitive]
    if not features:
        raise DataError("no feature columns left after the contract's exclusions")
    if contract.categorical is not None:
        categorical = [c for c in features if c in contract.categorical]
    else:
        categorical = [c for c in features if not _mostly_numeric(frame[c])]
    numeric = [c for c in features if c not in categorical]
    return DataSchema(
        id_column=contract.id_column,
        target_column=contract.target_column,
        positive_label=contract.positive_label,
        negative_label=negative_label(contract),
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        snapshot_column=contract.snapshot_column,
        value_column=contract.value_column,
        dedupe=contract.dedupe,
        feature_order=tuple(features),
        sensitive=tuple(sensitive),
    )


def model_schema(stored: DataSchema, contract: ContractSettings) -> DataSchema:
    """The schema a model is trained with: the stored dataset's, with the contract's current
    choice of features applied (an ``exclude`` or ``features`` change takes effect on the next
    retrain without re-ingesting anything).

    Raises:
        ConfigError: the contract changed something that stored data cannot follow (the id,
            label, snapshot or value column, the labels, or a feature that was never stored).
    """
    fixed = {
        "id_column": (stored.id_column, contract.id_column),
        "target_column": (stored.target_column, contract.target_column),
        "snapshot_column": (stored.snapshot_column, contract.snapshot_column),
        "value_column": (stored.value_column, contract.value_column),
        "positive_label": (str(stored.positive_label), str(contract.positive_label)),
    }
    for key, (was, now) in fixed.items():
        if was != now:
            raise ConfigError(
                f"contract.{key}: changed from {was!r} to {now!r} after data was ingested; "
                "stored data cannot follow (use a new workspace to start over with this contract)"
            )
    if contract.features is not None:
        unknown = [c for c in contract.features if c not in stored.features]
        if unknown:
            raise ConfigError(
                f"contract.features: {_names(unknown)} not in the stored data (its features are "
                f"{_names(stored.features)}); use a new workspace to add a column"
            )
        features = [c for c in stored.features if c in contract.features]
    else:
        features = [c for c in stored.features if c not in contract.exclude]
    sensitive = [*stored.sensitive, *(c for c in contract.sensitive if c in stored.features)]
    if not contract.use_sensitive:
        features = [c for c in features if c not in sensitive]
    else:  # stored beside the features (as text): they may become categorical features
        features += [c for c in stored.sensitive if c not in features]
    if not features:
        raise ConfigError("contract: no feature columns left after the contract's exclusions")
    declared = set(contract.categorical or ())  # numbers may become categories, not the reverse
    text = set(stored.categorical) | (set(stored.sensitive) - set(stored.features))
    categorical = [c for c in features if c in text or c in declared]
    return replace(
        stored,
        numeric=tuple(c for c in features if c not in categorical),
        categorical=tuple(c for c in features if c in categorical),
        feature_order=tuple(features),
        sensitive=tuple(dict.fromkeys(sensitive)),
    )


def _mostly_numeric(col: pd.Series) -> bool:
    import pandas as pd

    if pd.api.types.is_bool_dtype(col):
        return True
    if pd.api.types.is_numeric_dtype(col):
        return True
    text = col.astype("string").str.strip()
    text = text[~text.isin(NULL_TOKENS) & text.notna()]
    if text.empty:
        return True
    low = text.str.lower()
    is_true, is_false = (low == "true").fillna(False), (low == "false").fillna(False)
    text = text.mask(is_true, "1").mask(is_false, "0")  # booleans count as 0/1
    parsed = pd.to_numeric(text, errors="coerce")
    return bool(parsed.notna().mean() >= 0.9)


def _names(cols: Sequence[str]) -> str:
    return printable_names(cols)
