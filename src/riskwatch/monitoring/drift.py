"""Data drift and prediction drift calculators (scipy/numpy; the tests Evidently picks by default).

Reference samples of at most ``small_sample_rows`` rows use statistical tests (drift at
p < ``p_value``): two-sample Kolmogorov-Smirnov for numeric columns, chi-squared for categorical or
low-cardinality ones, a two-proportion Z-test for binary ones. Larger samples use distances (drift
at >= ``distance_threshold``): Wasserstein distance normalised by the reference's standard
deviation for numeric columns, Jensen-Shannon distance for categorical ones. PSI is reported for
every column with the usual bands. Calculators follow fit(reference) -> calculate(batch) -> result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from riskwatch.config import MonitoringSettings
    from riskwatch.schema import DataSchema

EPS = 1e-4


@dataclass
class ColumnDrift:
    """One column's test result."""

    column: str
    kind: str  # numeric | categorical | binary
    test: str
    statistic: float | None
    threshold: float
    p_value: float | None
    drifted: bool
    psi: float | None
    psi_band: str
    note: str = ""


@dataclass
class DriftResult:
    """Per-column drift of one batch against the reference."""

    columns: list[ColumnDrift]
    share_threshold: float
    reference_rows: int
    batch_rows: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.share >= self.share_threshold

    def to_df(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.columns])

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [asdict(c) for c in self.columns],
            "drifted_columns": self.drifted_columns,
            "share": self.share,
            "dataset_drift": self.dataset_drift,
            "share_threshold": self.share_threshold,
            "reference_rows": self.reference_rows,
            "batch_rows": self.batch_rows,
            "settings": self.settings,
        }

    def plot(self) -> Any:
        """PSI per feature with drifted features highlighted (a matplotlib Figure)."""
        from riskwatch.reporting.figures import feature_drift

        return feature_drift(self.to_dict()["columns"])

    def reasons(self, top: int = 3) -> list[str]:
        """The strongest drifting columns in words."""
        ranked = sorted((c for c in self.columns if c.drifted), key=lambda c: -(c.psi or 0))
        return [
            f"{c.column}: {c.test} {c.statistic:.3g} (threshold {c.threshold:g}), PSI {c.psi:.2f}"
            for c in ranked[:top]
            if c.statistic is not None and c.psi is not None
        ]


def psi_band(psi: float | None) -> str:
    if psi is None:
        return "unknown"
    return "stable" if psi < 0.1 else "moderate" if psi <= 0.25 else "significant"


def psi_numeric(ref: np.ndarray, cur: np.ndarray, bins: int) -> float:
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([ref.min() - 0.5, ref.max() + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    return _psi(r, c)


def _psi(r: np.ndarray, c: np.ndarray) -> float:
    r, c = np.clip(r, EPS, None), np.clip(c, EPS, None)
    return float(np.sum((c - r) * np.log(c / r)))


def _shares(
    ref: pd.Series, cur: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r_counts, c_counts = ref.astype(str).value_counts(), cur.astype(str).value_counts()
    cats = sorted(set(r_counts.index) | set(c_counts.index))  # the categories, not every row
    rc = r_counts.reindex(cats, fill_value=0).to_numpy(dtype=float)
    cc = c_counts.reindex(cats, fill_value=0).to_numpy(dtype=float)
    return rc, cc, rc / rc.sum(), cc / cc.sum()


class DataDriftCalculator:
    """Per-feature drift between a reference sample and a batch."""

    def __init__(self, cfg: MonitoringSettings, schema: DataSchema) -> None:
        self.cfg, self.schema = cfg, schema
        self.reference: pd.DataFrame | None = None

    def fit(self, reference: pd.DataFrame) -> DataDriftCalculator:
        """Keep the reference's features, typed by the contract (values, not their spelling)."""
        self.reference = self._typed(reference)
        return self

    def _typed(self, frame: pd.DataFrame) -> pd.DataFrame:
        from riskwatch.model.training import typed_features

        cols = [c for c in self.schema.features if c in frame.columns]
        return typed_features(frame, cols, [c for c in cols if c in self.schema.categorical])

    def kind(self, column: str) -> str:
        assert self.reference is not None
        values = self.reference[column].dropna()
        if values.nunique() == 2:
            return "binary"
        if column in self.schema.categorical or values.nunique() <= self.cfg.low_cardinality:
            return "categorical"
        return "numeric"

    def calculate(self, batch: pd.DataFrame) -> DriftResult:
        if self.reference is None:
            raise RuntimeError("call fit(reference) first")
        small = len(self.reference) <= self.cfg.small_sample_rows
        batch = self._typed(batch)
        cols = []
        for col in self.reference.columns:
            if col not in batch.columns:
                continue
            ref, cur = self.reference[col].dropna(), batch[col].dropna()
            kind = self.kind(col)
            if len(ref) < 2 or len(cur) < 1:
                cols.append(
                    ColumnDrift(
                        col,
                        kind,
                        "none",
                        None,
                        0.0,
                        None,
                        False,
                        None,
                        "unknown",
                        "too few non-missing values",
                    )
                )
                continue
            cols.append(self._column(col, kind, ref, cur, small))
        settings = {
            "small_sample_rows": self.cfg.small_sample_rows,
            "p_value": self.cfg.p_value,
            "distance_threshold": self.cfg.distance_threshold,
            "psi_bins": self.cfg.psi_bins,
            "method": "statistical tests" if small else "distances",
        }
        return DriftResult(cols, self.cfg.drift_share, len(self.reference), len(batch), settings)

    def _column(
        self, col: str, kind: str, ref: pd.Series, cur: pd.Series, small: bool
    ) -> ColumnDrift:
        from scipy import stats
        from scipy.spatial.distance import jensenshannon

        cfg = self.cfg
        if kind == "numeric":
            r, c = ref.to_numpy(dtype=float), cur.to_numpy(dtype=float)
            psi = psi_numeric(r, c, cfg.psi_bins)
            if small:
                p = float(stats.ks_2samp(r, c).pvalue)
                stat = float(stats.ks_2samp(r, c).statistic)
                return ColumnDrift(
                    col, kind, "ks", stat, cfg.p_value, p, p < cfg.p_value, psi, psi_band(psi)
                )
            scale = float(np.std(r)) or 1.0
            dist = float(stats.wasserstein_distance(r, c)) / scale
            return ColumnDrift(
                col,
                kind,
                "wasserstein_norm",
                dist,
                cfg.distance_threshold,
                None,
                dist >= cfg.distance_threshold,
                psi,
                psi_band(psi),
            )
        rc, cc, rs, cs = _shares(ref, cur)
        psi = _psi(rs, cs)
        if not small:
            dist = float(jensenshannon(rs, cs))
            return ColumnDrift(
                col,
                kind,
                "jensen_shannon",
                dist,
                cfg.distance_threshold,
                None,
                dist >= cfg.distance_threshold,
                psi,
                psi_band(psi),
            )
        if kind == "binary" and len(rc) == 2:
            p1, p2 = rc[0] / rc.sum(), cc[0] / cc.sum()
            pooled = (rc[0] + cc[0]) / (rc.sum() + cc.sum())
            se = np.sqrt(pooled * (1 - pooled) * (1 / rc.sum() + 1 / cc.sum()))
            z = float((p1 - p2) / se) if se > 0 else 0.0
            p = float(2 * stats.norm.sf(abs(z)))
            return ColumnDrift(
                col, kind, "z_test", z, cfg.p_value, p, p < cfg.p_value, psi, psi_band(psi)
            )
        table = np.vstack([rc, cc])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:
            return ColumnDrift(col, kind, "chi2", 0.0, cfg.p_value, 1.0, False, psi, psi_band(psi))
        chi2, p, _, _ = stats.chi2_contingency(table)
        return ColumnDrift(
            col,
            kind,
            "chi2",
            float(chi2),
            cfg.p_value,
            float(p),
            float(p) < cfg.p_value,
            psi,
            psi_band(psi),
        )


class PredictionDriftCalculator:
    """Drift of the model's risk scores: reference scores vs a batch's scores."""

    def __init__(self, cfg: MonitoringSettings) -> None:
        self.cfg = cfg
        self.reference: np.ndarray | None = None

    def fit(self, reference_scores: np.ndarray) -> PredictionDriftCalculator:
        self.reference = np.asarray(reference_scores, dtype=float)
        return self

    def calculate(self, scores: np.ndarray) -> dict[str, Any]:
        from scipy import stats

        if self.reference is None:
            raise RuntimeError("call fit(reference_scores) first")
        cur = np.asarray(scores, dtype=float)
        if len(cur) == 0 or len(self.reference) < 2:
            return {"drifted": False, "note": "too few scores"}
        psi = psi_numeric(self.reference, cur, self.cfg.psi_bins)
        if len(self.reference) <= self.cfg.small_sample_rows:
            res = stats.ks_2samp(self.reference, cur)
            drifted, test, stat, p = (
                bool(res.pvalue < self.cfg.p_value),
                "ks",
                float(res.statistic),
                float(res.pvalue),
            )
        else:
            stat = float(stats.wasserstein_distance(self.reference, cur)) / (
                float(np.std(self.reference)) or 1.0
            )
            drifted, test, p = stat >= self.cfg.distance_threshold, "wasserstein_norm", None
        return {
            "test": test,
            "statistic": stat,
            "p_value": p,
            "drifted": drifted,
            "psi": psi,
            "psi_band": psi_band(psi),
            "reference_mean": float(self.reference.mean()),
            "batch_mean": float(cur.mean()),
        }
