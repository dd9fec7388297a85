"""Shared fixtures: a course-style project and a PostgreSQL database per test."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import COURSE, PG_URL, course_contract, write_config


@pytest.fixture
def course_project(tmp_path: Path) -> Path:
    """A folder with a drop folder ``incoming`` (empty) and a course config; returns the config."""
    (tmp_path / "incoming").mkdir()
    return write_config(
        tmp_path,
        {
            "workspace": {"path": "ws"},
            "contract": course_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming"}},
        },
    )


def drop(config: Path, *files: Path, sub: str = "") -> None:
    """Copy course files into the project's drop folder."""
    target = config.parent / "incoming" / sub
    target.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, target / f.name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the real PostgreSQL server; skips only if the server is absent."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL server not reachable at 127.0.0.1:5432 ({exc})")
    schema = f"rw_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


COURSE_DIR = COURSE
