"""The course preset reproduces the course's model exactly (checked against plain scikit-learn)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from riskwatch.ingest import job
from riskwatch.registry import lifecycle
from tests.conftest import drop
from tests.helpers import COURSE, course_sections, open_context, write_config

FEATURES = ["lastmonth_activity", "lastyear_activity", "number_of_employees"]
FILES = {
    "testdata": (sorted((COURSE / "testdata").glob("*.csv")), 0.5714),
    "sourcedata": (sorted((COURSE / "sourcedata").glob("*.csv")), 0.6923),
    "drift": ([COURSE / "validation_data" / "drift" / "drift.csv"], 0.0),
    "no_drift": ([COURSE / "validation_data" / "no_drift" / "no_drift.csv"], 1.0),
}


def _read(files: list[Path]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(f, dtype={"corporation": str}) for f in files]).drop_duplicates()


@pytest.mark.parametrize("name", list(FILES))
def test_course_preset_f1(tmp_path: Path, name: str) -> None:
    (tmp_path / "incoming").mkdir()
    config = write_config(tmp_path, course_sections())
    drop(config, *sorted((COURSE / "practicedata").glob("*.csv")))
    ctx = open_context(config)
    assert job.ingest(ctx).accepted == 26
    model = ctx.model(lifecycle.train_and_register(ctx).version)
    files, expected = FILES[name]
    data = _read(files)
    ours = f1_score(data["exited"], (model.risk(data) >= 0.5).astype(int))
    train = _read(sorted((COURSE / "practicedata").glob("*.csv")))
    plain = LogisticRegression(C=1.0, random_state=0, solver="liblinear").fit(
        train[FEATURES], train["exited"]
    )
    reference = f1_score(data["exited"], plain.predict(data[FEATURES]))
    assert round(ours, 4) == pytest.approx(expected) == pytest.approx(round(reference, 4))
    if name == "sourcedata":
        assert len(data) == 26
