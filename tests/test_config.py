"""Configuration: typed, validated, one-line errors naming file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskwatch.config import load_settings
from riskwatch.errors import ConfigError
from tests.helpers import course_contract, run_cli, write_config


def _cfg(tmp_path: Path, **sections: dict) -> Path:
    return write_config(tmp_path, {"contract": course_contract(), **sections})


@pytest.mark.parametrize(
    ("sections", "needle"),
    [
        ({"training": {"modle": "auto"}}, "key 'training.modle' is not a known setting"),
        ({"training": {"cv_folds": "five"}}, "key 'training.cv_folds'"),
        ({"training": {"model": "xgboost"}}, "key 'training.model'"),
        ({"scoring": {"threshold": 1.5}}, "key 'scoring.threshold'"),
        ({"sources": {"db": {"kind": "sql", "url": "sqlite:///x.db"}}}, "'table', 'watermark'"),
        ({"sources": {"f": {"kind": "folder"}}}, "a folder source needs 'path'"),
        ({"api": {"port": 70000}}, "key 'api.port'"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path: Path, sections: dict, needle: str) -> None:
    path = _cfg(tmp_path, **sections)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_required(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"contract": {"target_column": "y"}})
    with pytest.raises(ConfigError, match=r"key 'contract.id_column' is required"):
        load_settings(path, env={})


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[contract\nid_column=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_paths_resolve_against_config_and_env_overrides(tmp_path: Path) -> None:
    path = _cfg(
        tmp_path,
        workspace={"path": "ws"},
        sources={
            "main-db": {"kind": "sql", "url": "sqlite:///src.db", "table": "t", "watermark": "id"}
        },
    )
    s = load_settings(path, env={})
    assert s.workspace_path == (tmp_path / "ws").resolve()
    assert s.sources["main-db"].url == f"sqlite:///{(tmp_path / 'src.db').resolve()}"
    assert s.metadata_url == f"sqlite:///{(tmp_path / 'ws' / 'metadata.db').resolve()}"
    env = {
        "RISKWATCH_API_KEY": "s3cret",
        "RISKWATCH_SOURCE_MAIN_DB_URL": "postgresql://u@h/db",
        "RISKWATCH_METADATA_URL": "postgresql://u@h/meta",
    }
    s = load_settings(path, env=env)
    assert s.api.api_key == "s3cret"
    assert s.sources["main-db"].url == "postgresql://u@h/db"
    assert s.metadata_url == "postgresql://u@h/meta"
    with pytest.raises(ConfigError, match="no source named 'other'"):
        load_settings(path, env={"RISKWATCH_SOURCE_OTHER_URL": "x"})


def test_negative_label_must_be_guessable(tmp_path: Path) -> None:
    from riskwatch.schema import negative_label

    s = load_settings(
        write_config(tmp_path, {"contract": course_contract(positive_label="Yes")}), env={}
    )
    assert negative_label(s.contract) == "No"
    s = load_settings(
        write_config(tmp_path, {"contract": course_contract(positive_label="Attrited Customer")}),
        env={},
    )
    with pytest.raises(ConfigError, match=r"contract\.negative_label"):
        negative_label(s.contract)


def test_cli_reports_config_error_in_one_line(tmp_path: Path) -> None:
    path = _cfg(tmp_path, training={"modle": "auto"})
    out = run_cli("ingest", config=path)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "training.modle" in out.stderr and "Traceback" not in out.stderr


def test_init_writes_valid_configs(tmp_path: Path) -> None:
    out = run_cli("init", "--demo", str(tmp_path / "demo.toml"))
    assert out.returncode == 0, out.stderr
    assert load_settings(tmp_path / "demo.toml", env={}).contract.id_column == "corporation"
    out = run_cli("init", str(tmp_path / "riskwatch.toml"))
    assert out.returncode == 0, out.stderr
    s = load_settings(tmp_path / "riskwatch.toml", env={})
    assert s.contract.id_column == "client_id" and s.contract.snapshot_column is None
    again = run_cli("init", str(tmp_path / "riskwatch.toml"))
    assert again.returncode == 2 and "already exists" in again.stderr
