"""Alerts with real parts: an HTTP receiver (webhook, Apprise json://) and an SMTP server on
loopback, real SQLite/PostgreSQL, real `riskwatch run`/`serve` processes. Clocks are moved by
passing ``now``, never by sleeping."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from riskwatch.answers.health import Reason
from tests.alert_receivers import Receiver, receiver, smtp_server
from tests.conftest import drop
from tests.helpers import (
    COURSE,
    course_contract,
    imported_modules,
    open_context,
    run_cli,
    toml_value,
    write_config,
)

SECRET = "s3cret-for-tests"
T0 = datetime(2030, 1, 6, 12, 0, tzinfo=UTC)
BROKEN = "corporation,lastmonth_activity,exited\nabcd,1,0\n"  # columns missing: rejected


def _project(root: Path, alerts: dict[str, Any], *, metadata_url: str | None = None) -> Path:
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    config = write_config(
        root,
        {
            "workspace": {"path": "ws", "metadata_url": metadata_url},
            "contract": course_contract(),
            "sources": {"drop": {"kind": "folder", "path": "incoming"}},
            "training": {"model": "logistic", "calibration": "none"},
        },
    )
    with config.open("a", encoding="utf-8") as f:
        f.write(_toml_table("alerts", alerts))
    return config


def _toml(value: Any) -> str:
    """TOML for a value, with inline tables for dicts inside lists."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return toml_value(value)


def _toml_table(name: str, table: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    lines += [f"{k} = {_toml(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            lines.append(_toml_table(f"{name}.{k}", v))
    return "\n".join(lines) + "\n"


def _alerts(rec: Receiver, **extra: Any) -> dict[str, Any]:
    """Webhook (signed) plus Apprise's JSON channel, both to the receiver."""
    return {
        "channels": [rec.url("/apprise", scheme="json")],
        "webhook": {"url": rec.url("/hook"), "secret": SECRET},
        "deadline_seconds": 3,
        **extra,
    }


def _reason(kind: str, subject: str, severity: str = "attention", message: str = "") -> dict:
    return Reason(kind, subject, severity, message or f"{kind} on {subject}").to_dict()


def _verdict(*reasons: dict) -> dict[str, Any]:
    worst = "failing" if any(r["severity"] == "failing" for r in reasons) else "attention"
    return {"health": worst if reasons else "ok", "reasons": list(reasons)}


def _verify(req: Any) -> dict[str, Any]:
    """Check the webhook signature the way a receiver would (independent of riskwatch)."""
    stamp = req.headers["X-Riskwatch-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + req.body, hashlib.sha256)
    assert req.headers["X-Riskwatch-Signature"] == "sha256=" + expected.hexdigest()
    assert abs(time.time() - int(stamp)) < 300
    payload: dict[str, Any] = req.json()
    return payload


def _events(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["event"], e["key"]) for e in payload["events"]]


# -- Alertmanager semantics through the real store and real HTTP ---------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_open_group_repeat_resolve_and_silence(tmp_path: Path, database: str, request: Any) -> None:
    from riskwatch.alerts.notify import evaluate

    url = request.getfixturevalue("pg_url") if database == "postgresql" else None
    with receiver() as rec:
        ctx = open_context(_project(tmp_path, _alerts(rec), metadata_url=url))
        drift = _reason("drift_open", "v1", message="drift on dataset v1..v2 (champion v1)")
        down = _reason("source_unreachable", "sources", "failing", "crm: connection refused")
        # two conditions opened in one evaluation: one message per channel, both in it
        out = evaluate(ctx, _verdict(drift, down), now=T0, origin="run")
        assert sorted(out.opened) == ["drift_open:v1", "source_unreachable:sources"]
        hook = _verify(rec.wait_for(1, "/hook")[0])
        assert hook["version"] == 1 and hook["type"] == "riskwatch.alert"
        assert hook["status"] == "firing" and hook["severity"] == "critical"
        assert _events(hook) == [
            ("opened", "source_unreachable:sources"),
            ("opened", "drift_open:v1"),
        ]
        assert hook["title"].startswith("[riskwatch] 2 opened: ")
        assert "crm: connection refused" in hook["text"] and "to do:" in hook["text"]
        apprise_msg = rec.wait_for(1, "/apprise")[0].json()
        assert apprise_msg["title"] == hook["title"] and apprise_msg["type"] == "failure"
        assert "drift on dataset v1..v2" in apprise_msg["message"]
        # the same verdict an hour later, and a day later minus a minute: nothing is repeated
        for later in (timedelta(hours=1), timedelta(hours=23, minutes=59)):
            assert (
                evaluate(ctx, _verdict(drift, down), now=T0 + later, origin="run").deliveries == []
            )
        assert len(rec.requests) == 2
        # after repeat_interval (24 h): one repeat, both still open, in one message
        evaluate(ctx, _verdict(drift, down), now=T0 + timedelta(hours=24, minutes=1), origin="run")
        again = _verify(rec.wait_for(2, "/hook")[1])
        assert sorted(_events(again)) == [
            ("repeat", "drift_open:v1"),
            ("repeat", "source_unreachable:sources"),
        ]
        assert "STILL OPEN" in again["text"]
        # the source is back: one resolved message, for that condition only
        out = evaluate(ctx, _verdict(drift), now=T0 + timedelta(hours=25), origin="run")
        assert out.resolved == ["source_unreachable:sources"]
        resolved = _verify(rec.wait_for(3, "/hook")[2])
        assert _events(resolved) == [("resolved", "source_unreachable:sources")]
        assert resolved["status"] == "resolved"
        assert resolved["title"] == (
            "[riskwatch] RESOLVED source_unreachable:sources (was: crm: connection refused)"
        )
        assert rec.wait_for(3, "/apprise")[2].json()["type"] == "success"
        # a silence is honoured: a silenced condition opens quietly, another one still notifies
        from riskwatch.storage.alerts import add_silence

        with ctx.db.transaction():
            add_silence(
                ctx.db,
                pattern="data_rejected:*",
                until=(T0 + timedelta(days=2)).isoformat(),
                reason="known bad export",
                by="tester",
                at=T0.isoformat(),
            )
        bad = _reason("data_rejected", "drop/x.csv")
        old = _reason("champion_too_old", "v1")
        evaluate(ctx, _verdict(drift, bad, old), now=T0 + timedelta(hours=26), origin="run")
        last = _verify(rec.wait_for(4, "/hook")[3])
        assert _events(last) == [("opened", "champion_too_old:v1")]
        # once the silence has ended, the muted condition is told
        evaluate(ctx, _verdict(drift, bad, old), now=T0 + timedelta(days=2, hours=1), origin="run")
        assert ("opened", "data_rejected:drop/x.csv") in _events(
            _verify(rec.wait_for(5, "/hook")[4])
        )
        assert len(rec.on("/hook")) == 5 and len(rec.on("/apprise")) == 5


def test_min_severity_per_channel_and_informational_events(tmp_path: Path) -> None:
    from riskwatch.alerts.notify import evaluate

    with receiver() as rec:
        alerts = {
            "channels": [{"url": rec.url("/pager", scheme="json"), "min_severity": "critical"}],
            "webhook": {"url": rec.url("/hook")},
            "informational": True,
        }
        ctx = open_context(_project(tmp_path, alerts))
        warn = _reason("drift_open", "v1")
        evaluate(ctx, _verdict(warn), now=T0, origin="run")
        assert len(rec.wait_for(1, "/hook")) == 1 and rec.on("/pager") == []
        crit = _reason("run_failed", "pipeline", "failing")
        info = [{"kind": "champion_promoted", "subject": "v2", "message": "champion v2 promoted"}]
        evaluate(
            ctx,
            _verdict(warn, crit),
            now=T0 + timedelta(minutes=5),
            origin="run",
            informational=info,
        )
        pager = rec.wait_for(1, "/pager")[0].json()
        assert "run_failed on pipeline" in pager["message"] and "promoted" not in pager["message"]
        hook = rec.wait_for(2, "/hook")[1].json()
        assert "X-Riskwatch-Signature" not in rec.on("/hook")[1].headers  # no secret: unsigned
        assert _events(hook) == [
            ("opened", "run_failed:pipeline"),
            ("info", "champion_promoted:v2"),
        ]


def test_verify_refuses_tampering_and_replay() -> None:
    from riskwatch.alerts.channels import sign, verify

    body, now = b'{"version":1}', 1_900_000_000
    headers = {"X-Riskwatch-Timestamp": str(now), "X-Riskwatch-Signature": sign("k", now, body)}
    assert verify("k", headers, body, now=now + 10)
    assert not verify("k", headers, body + b" ", now=now)
    assert not verify("other", headers, body, now=now)
    assert not verify("k", headers, body, now=now + 301)  # replayed later
    assert not verify("k", {**headers, "X-Riskwatch-Timestamp": "soon"}, body, now=now)


# -- the run: one call at its end, never changing its result --------------------------------------


def test_a_run_alerts_once_and_resolves_when_the_file_is_fixed(tmp_path: Path) -> None:
    with receiver() as rec:
        config = _project(tmp_path, _alerts(rec, base_url="https://risk.example.com/"))
        drop(config, COURSE / "practicedata" / "dataset1.csv")
        (config.parent / "incoming" / "zz-broken.csv").write_text(BROKEN)
        done = run_cli("run", config=config)
        assert done.returncode == 3, done.stderr  # the run's own result
        hook = _verify(rec.wait_for(1, "/hook")[0])
        assert _events(hook) == [("opened", "data_rejected:drop/zz-broken.csv")]
        event = hook["events"][0]
        assert event["severity"] == "warning" and "unexpected" not in event["todo"]
        assert event["figures"] and "kept the file out" in event["did"]
        assert hook["links"]["dashboard"] == "https://risk.example.com/"
        assert hook["run"]["status"] == "ok" and hook["run"]["id"] == 1
        assert run_cli("run", config=config).returncode == 0  # nothing new; still open: quiet
        assert len(rec.on("/hook")) == 1
        (config.parent / "incoming" / "zz-broken.csv").write_text(
            (COURSE / "practicedata" / "dataset2.csv").read_text()
        )
        assert run_cli("run", config=config).returncode == 0
        resolved = _verify(rec.wait_for(2, "/hook")[1])
        assert _events(resolved) == [("resolved", "data_rejected:drop/zz-broken.csv")]
        listing = run_cli("alerts", config=config)
        assert listing.returncode == 0, listing.stderr
        assert "data_rejected:drop/zz-broken.csv" in listing.stdout and "sent" in listing.stdout
        history = json.loads(run_cli("alerts", "--json", config=config).stdout)
        assert [n["events"][0]["event"] for n in history["notifications"]] == ["resolved", "opened"]
        assert {d["channel"] for d in history["notifications"][0]["deliveries"]} == {
            "json-1",
            "webhook",
        }
        assert history["open"] == []


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_dead_receiver_never_hurts_the_run_and_becomes_a_health_reason(
    tmp_path: Path, mode: str
) -> None:
    deadline = 2.0
    with receiver(mode) as rec:
        config = _project(
            tmp_path,
            {"webhook": {"url": rec.url("/hook")}, "deadline_seconds": deadline, "retries": 2},
        )
        drop(config, COURSE / "practicedata" / "dataset1.csv")
        for i in range(3):  # each run opens a new condition, so each run tries to deliver
            (config.parent / "incoming" / f"zz-broken-{i}.csv").write_text(BROKEN + f"x{i},2,1\n")
            started = time.monotonic()
            done = run_cli("run", "--json", config=config)
            elapsed = time.monotonic() - started
            assert done.returncode == 3, done.stderr  # the run's normal result, untouched
            result = json.loads(done.stdout)
            assert result["status"] == "ok" and result["problems"], result
            assert "Traceback" not in done.stderr and "alert" not in done.stderr.lower()
            # a hanging receiver holds the request 120 s: the run waits at most the deadline
            # (the margin covers the process start and imports on a busy machine)
            steps = sum(s["seconds"] for s in result["steps"])
            assert elapsed - steps < deadline + 15, (elapsed, steps)
        history = json.loads(run_cli("alerts", "--json", config=config).stdout)
        deliveries = [d for n in history["notifications"] for d in n["deliveries"]]
        assert len(deliveries) == 3 and {d["status"] for d in deliveries} == {"failed"}
        for d in deliveries:
            assert d["seconds"] <= deadline + 1.0
            assert (
                ("500" in d["error"])
                if mode == "fail"
                else ("deadline" in d["error"] or "timed out" in d["error"])
            )
        if mode == "fail":
            assert {d["attempts"] for d in deliveries} == {3}  # retried with backoff
        status = json.loads(run_cli("status", "--json", config=config).stdout)
        failing = [r for r in status["reasons"] if r["kind"] == "delivery_failing"]
        assert [r["key"] for r in failing] == ["delivery_failing:webhook"]
        assert "3 times in a row" in failing[0]["message"]


def test_e_mail_through_a_real_smtp_server(tmp_path: Path) -> None:
    with smtp_server() as box:
        url = f"mailto://127.0.0.1:{box.port}?mode=insecure&from=riskwatch@example.com&to=ops@example.com"
        config = _project(tmp_path, {"channels": [url], "project": "acme-risk"})
        done = run_cli("alerts", "test", config=config)
        assert done.returncode == 0, done.stderr
        assert "mailto-1" in done.stdout and "sent" in done.stdout
        sender, rcpts, msg = box.wait_for(1)[0]
        assert sender == "riskwatch@example.com" and rcpts == ["ops@example.com"]
        assert msg["Subject"] == "[acme-risk] TEST: alerts reach channel mailto-1"
        drop(config, COURSE / "practicedata" / "dataset1.csv")
        (config.parent / "incoming" / "zz-broken.csv").write_text(BROKEN)
        assert run_cli("run", config=config).returncode == 3
        _, _, alert = box.wait_for(2)[1]
        assert alert["Subject"].startswith("[acme-risk] WARNING: rejected drop: zz-broken.csv")
        body = alert.get_body(preferencelist=("plain",)).get_content()
        assert "data_rejected:drop/zz-broken.csv" in body and "to do:" in body
        assert "riskwatch alerts silence data_rejected:drop/zz-broken.csv" in body


def test_nothing_new_run_imports_no_alerting_code(tmp_path: Path) -> None:
    with receiver() as rec:
        src = tmp_path / "crm.db"
        config = write_config(
            tmp_path,
            {
                "workspace": {"path": "ws"},
                "contract": course_contract(),
                "sources": {
                    "drop": {"kind": "folder", "path": "incoming"},
                    "crm": {
                        "kind": "sql",
                        "url": f"sqlite:///{src}",
                        "table": "c",
                        "watermark": "id",
                    },
                },
                "alerts": _alerts(rec),
            },
        )
        drop(config, COURSE / "practicedata" / "dataset1.csv")

        def crm_up() -> None:
            with sqlite3.connect(src) as db:
                db.execute(
                    "CREATE TABLE c (id INTEGER, corporation TEXT, lastmonth_activity INTEGER, "
                    "lastyear_activity INTEGER, number_of_employees INTEGER, exited INTEGER)"
                )

        crm_up()
        assert run_cli("run", config=config).returncode == 0
        src.unlink()  # the CRM database goes away: the run fails and alerts
        assert run_cli("run", config=config).returncode == 4
        assert sorted(_events(_verify(rec.wait_for(1, "/hook")[0]))) == [
            ("opened", "run_failed:pipeline"),
            ("opened", "source_unreachable:sources"),
        ]
        crm_up()  # back, with nothing new: a nothing-new run that must resolve both
        done, modules = imported_modules(config, "run", full=True)
        assert done.returncode == 0 and "no new data" in done.stdout, done.stderr
        assert "riskwatch.alerts.notify" in modules and "apprise" in modules
        assert len(_events(_verify(rec.wait_for(2, "/hook")[1]))) == 2
        # the next nothing-new run: nothing changed, nothing due -> no alerting code at all
        done, modules = imported_modules(config, "run", full=True)
        assert done.returncode == 0 and "no new data" in done.stdout, done.stderr
        assert "apprise" not in modules and not any(
            m.startswith("riskwatch.alerts") for m in modules
        )
        assert not {m.split(".")[0] for m in modules} & {"pandas", "sklearn", "scipy", "pyarrow"}
        assert len(rec.requests) == 4  # two channels, two notifications


# -- the watchdog: the run that never happened ---------------------------------------------------


def _age_runs(config: Path, when: datetime) -> None:
    """Make every recorded run start at ``when`` (the clock of the test, not a sleep)."""
    with sqlite3.connect(config.parent / "ws" / "metadata.db") as db:
        db.execute("UPDATE runs SET started_at = ?, finished_at = ?", (when.isoformat(),) * 2)


def test_watchdog_alerts_once_when_scheduled_runs_are_missed(tmp_path: Path) -> None:
    from riskwatch.config import load_settings
    from riskwatch.pipeline.alerting import Watchdog

    with receiver() as rec:
        config = _project(tmp_path, _alerts(rec))
        drop(config, COURSE / "practicedata" / "dataset1.csv")
        assert run_cli("run", config=config).returncode == 0
        assert rec.requests == []  # all fine: nothing sent
        _age_runs(config, T0)
        dog = Watchdog(load_settings(config), schedule="*/10 * * * *")
        assert dog.tick(T0 + timedelta(minutes=15)) is None  # one slot missed: not yet
        out = dog.tick(T0 + timedelta(minutes=35))  # two slots (12:10, 12:20) missed
        assert out.opened == ["missed_runs:schedule"]
        hook = _verify(rec.wait_for(1, "/hook")[0])
        assert hook["origin"] == "watchdog" and hook["severity"] == "critical"
        assert _events(hook) == [("opened", "missed_runs:schedule")]
        assert "cron" in hook["events"][0]["todo"]
        for minutes in range(36, 50):  # every minute after: no second message
            dog.tick(T0 + timedelta(minutes=minutes))
        assert len(rec.on("/hook")) == 1 and dog.checks == 16
        # cron fires again: the run resolves it, and the watchdog does not reopen it
        assert run_cli("run", config=config).returncode == 0
        assert _events(_verify(rec.wait_for(2, "/hook")[1])) == [
            ("resolved", "missed_runs:schedule")
        ]
        assert dog.tick() is None and len(rec.on("/hook")) == 2


def test_serve_watchdog_alerts_once_with_a_real_crontab(tmp_path: Path, crontab: str) -> None:
    import os
    import urllib.request

    from tests.conftest import free_port

    with receiver() as rec:
        config = _project(tmp_path, {**_alerts(rec), "watchdog_seconds": 1})
        drop(config, COURSE / "practicedata" / "dataset1.csv")
        assert run_cli("run", config=config).returncode == 0
        assert run_cli("schedule", "install", "--every", "10m", config=config).returncode == 0
        _age_runs(config, datetime.now(UTC) - timedelta(hours=2))
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "riskwatch",
                "--config",
                str(config),
                "serve",
                "--port",
                str(port),
            ],
            env={**os.environ, "RISKWATCH_API_KEY": "k"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            hook = _verify(rec.wait_for(1, "/hook", timeout=60)[0])
            assert _events(hook) == [("opened", "missed_runs:schedule")]
            metrics = ""
            for _ in range(300):  # the watchdog keeps checking every second ...
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/metrics", headers={"X-API-Key": "k"}
                )
                with urllib.request.urlopen(req, timeout=10) as resp:
                    metrics = resp.read().decode()
                checks = next(
                    float(x.split()[-1])
                    for x in metrics.splitlines()
                    if x.startswith("riskwatch_watchdog_checks_total")
                )
                if checks >= 4:
                    break
                time.sleep(0.1)
            assert checks >= 4
            assert len(rec.on("/hook")) == 1  # ... and alerted once
            assert "riskwatch_health 2" in metrics
            assert "riskwatch_watchdog_last_check_timestamp_seconds" in metrics
            assert 'riskwatch_open_conditions{kind="missed_runs"} 1' in metrics
        finally:
            server.terminate()
            server.wait(timeout=10)


# -- configuration, CLI errors, secrets ----------------------------------------------------------


@pytest.mark.parametrize(
    ("alerts", "needle"),
    [
        ({"channels": ["not a url"]}, "alerts.channels.0.url"),
        ({"channels": ["env:"]}, "alerts.channels.0.url"),
        ({"webhook": {"url": "json://x"}, "repeat_interval": "often"}, "alerts.repeat_interval"),
        ({"channels": [{"url": "json://h", "min_severity": "loud"}]}, "min_severity"),
        (
            {"channels": [{"url": "json://a", "name": "x"}, {"url": "json://b", "name": "x"}]},
            "used twice",
        ),
        ({"deadline_seconds": 0}, "alerts.deadline_seconds"),
        ({"chanels": []}, "key 'alerts.chanels' is not a known setting"),
        ({"webhook": {"url": "http://h/x"}, "base_url": "ftp://risk"}, "alerts.base_url"),
        ({"webhook": {"url": "http://h/x"}, "repeat_interval": "99999w"}, "longer than ten years"),
        ({"channels": "json://one-not-a-list"}, "alerts.channels"),
    ],
)
def test_bad_alert_settings_name_the_key(tmp_path: Path, alerts: dict, needle: str) -> None:
    config = _project(tmp_path, alerts)
    done = run_cli("status", config=config)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(config) in lines[0], done.stderr


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("alerts", "silence", "drift_open:v1", "--for", "2x", "--reason", "r"), 2, "--for"),
        (("alerts", "silence", "drift_open:v1", "--for", "2d", "--reason", "  "), 2, "--reason"),
        (("alerts", "silence", "nokey", "--for", "2d", "--reason", "r"), 2, "kind:subject"),
        (("alerts", "unsilence", "drift_open:v9"), 6, "no active silence"),
    ],
)
def test_alert_command_errors_are_one_line(
    course_project: Path, args: tuple[str, ...], code: int, needle: str
) -> None:
    assert run_cli("alerts", config=course_project).returncode == 0  # the database exists
    done = run_cli(*args, config=course_project)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in done.stderr
    with sqlite3.connect(course_project.parent / "ws" / "metadata.db") as db:
        assert db.execute("SELECT COUNT(*) FROM alert_silences").fetchone()[0] == 0


def test_alerts_test_without_channels_is_a_config_error(course_project: Path) -> None:
    done = run_cli("alerts", "test", config=course_project)
    assert done.returncode == 2 and "no alert channels configured" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_silence_is_recorded_with_who_and_why_and_can_be_lifted(course_project: Path) -> None:
    import getpass

    done = run_cli(
        "alerts",
        "silence",
        "drift_open:v3",
        "--for",
        "2d",
        "--reason",
        "known: promo month",
        config=course_project,
    )
    assert done.returncode == 0, done.stderr
    assert f"by {getpass.getuser()}: known: promo month" in done.stdout
    listing = json.loads(run_cli("alerts", "--json", config=course_project).stdout)
    (s,) = listing["silences"]
    assert s["pattern"] == "drift_open:v3" and s["by"] == getpass.getuser()
    until = datetime.fromisoformat(s["until"]) - datetime.fromisoformat(s["at"])
    assert until == timedelta(days=2)
    assert run_cli("alerts", "unsilence", "drift_open:v3", config=course_project).returncode == 0
    assert json.loads(run_cli("alerts", "--json", config=course_project).stdout)["silences"] == []


def test_secrets_from_env_and_file_are_never_shown(tmp_path: Path) -> None:
    token = "hunter2-very-secret"
    (tmp_path / "slack.url").write_text(f"json://bot:{token}@127.0.0.1:1/{token}/hook\n")
    config = _project(
        tmp_path,
        {
            "channels": ["file:slack.url", "env:RW_TEST_CHANNEL"],
            "webhook": {"url": "env:RW_TEST_MISSING"},
            "deadline_seconds": 2,
            "retries": 0,
        },
    )
    env = {"RW_TEST_CHANNEL": f"json://127.0.0.1:1/{token}"}
    done = run_cli("alerts", "test", config=config, env=env)
    assert done.returncode == 1  # every channel failed, each reported
    assert token not in done.stdout + done.stderr
    assert "env:RW_TEST_MISSING" in done.stdout and "not set" in done.stdout
    assert "file:" + str(tmp_path / "slack.url") in done.stdout
    listing = run_cli("alerts", "--json", config=config, env=env)
    assert token not in listing.stdout and listing.stdout.count('"failed"') == 3


# -- /metrics and the example Prometheus rules --------------------------------------------------


def test_metrics_gauges_and_the_example_rules(demo_project: Path) -> None:
    import re
    import shutil

    from fastapi.testclient import TestClient

    from riskwatch.api import create_app
    from riskwatch.config import load_settings

    text = TestClient(create_app(load_settings(demo_project))).get("/metrics").text
    values = {
        line.split()[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["riskwatch_champion_version"] == 1
    assert values["riskwatch_health"] in (0, 1, 2)
    assert 0 < values["riskwatch_champion_age_seconds"] < 86400 * 30
    assert abs(values["riskwatch_last_successful_run_timestamp_seconds"] - time.time()) < 86400
    assert values['riskwatch_ingested_rows_total{outcome="accepted"}'] == 4500
    assert values['riskwatch_open_conditions{kind="drift_open"}'] == 0
    rules = Path(__file__).parents[1] / "examples" / "prometheus-alerts.yml"
    used = set(re.findall(r"riskwatch_[a-z_]+", rules.read_text()))
    exported = {name.split("{")[0] for name in values}
    watchdog = {  # exported by a server whose watchdog runs (checked in the serve test)
        "riskwatch_watchdog_checks_total",
        "riskwatch_watchdog_last_check_timestamp_seconds",
    }
    assert used and used <= exported | watchdog, used - exported
    promtool = shutil.which("promtool")
    if promtool:  # Debian's prometheus package
        done = subprocess.run(
            [promtool, "check", "rules", str(rules)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


# -- the pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkc/#general", "slack://***"),
        (
            "mailto://ops:pw@smtp.example.com:587?to=team@example.com",
            "mailto://smtp.example.com:587",
        ),
        ("json://127.0.0.1:8080/hook?token=abcd", "json://127.0.0.1:8080"),
        ("msteams://abc@def/ghi", "msteams://***"),
        ("ntfy://my-private-topic", "ntfy://***"),
        ("https://user:pw@hooks.example.com/services/T0/B0/XX", "https://hooks.example.com"),
        ("env:RISKWATCH_SLACK", "env:RISKWATCH_SLACK"),
        ("file:/etc/riskwatch/teams.url", "file:/etc/riskwatch/teams.url"),
    ],
)
def test_channels_are_shown_without_credentials(ref: str, shown: str) -> None:
    from riskwatch.config import masked

    assert masked(ref) == shown


def test_errors_are_cleaned_of_every_part_of_the_url() -> None:
    from riskwatch.alerts.channels import clean

    url = "mailtos://bot:Pa55word@smtp.example.com/TokenAbc123?key=QueryValue99&to=x@example.com"
    text = f"login failed for bot with Pa55word at {url}; token TokenAbc123, QueryValue99"
    cleaned = clean(text, url)
    for secret in ("Pa55word", "TokenAbc123", "QueryValue99", url):
        assert secret not in cleaned
    assert "smtp.example.com" not in clean("slack://TokenA1/TokenB2", "slack://TokenA1/TokenB2")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1.5d", 129600), ("1w", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    from riskwatch.config import parse_duration

    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0h", "-1h", "2x", "", "h", "99999999999w"])
def test_bad_durations(text: str) -> None:
    from riskwatch.config import parse_duration

    with pytest.raises(ValueError):
        parse_duration(text)


def _cond(cid: int, key: str, severity: str = "warning", resolved: str | None = None) -> dict:
    kind, subject = key.split(":")
    return {
        "id": cid,
        "key": key,
        "kind": kind,
        "subject": subject,
        "severity": severity,
        "message": key,
        "detail": {},
        "opened_at": T0.isoformat(),
        "resolved_at": resolved,
    }


def test_due_is_per_channel_and_retries_wait_for_their_time() -> None:
    from riskwatch.alerts.conditions import Target, due, next_due

    a, b = Target("a"), Target("b", "critical")
    crit, warn = _cond(1, "run_failed:pipeline", "critical"), _cond(2, "drift_open:v1")
    later = T0 + timedelta(minutes=1)
    marks = {
        (1, "a"): {"told": "opened", "told_at": T0.isoformat()},
        (1, "b"): {
            "told": None,
            "failures": 1,
            "retry_at": (T0 + timedelta(minutes=5)).isoformat(),
        },
    }
    got = due([crit, warn], marks, [a, b], [], now=later, repeat=timedelta(hours=24))
    assert {k: [(e.event, e.key) for e in v] for k, v in got.items()} == {
        "a": [("opened", "drift_open:v1")]  # b backs off; b never takes warnings
    }
    assert next_due(
        crit, marks, [a, b], [], now=later, repeat=timedelta(hours=24)
    ) == T0 + timedelta(minutes=5)
    retry = due(
        [crit], marks, [a, b], [], now=T0 + timedelta(minutes=5), repeat=timedelta(hours=24)
    )
    assert [(e.event, e.key) for e in retry["b"]] == [("opened", "run_failed:pipeline")]
    # resolved: only to the channel that was told it opened
    gone = _cond(1, "run_failed:pipeline", "critical", resolved=later.isoformat())
    done = due([gone], marks, [a, b], [], now=later, repeat=timedelta(hours=24))
    assert list(done) == ["a"] and done["a"][0].event == "resolved"


def test_diff_follows_keys_and_scope() -> None:
    from riskwatch.alerts.conditions import diff

    live = [_cond(1, "missed_runs:schedule", "critical"), _cond(2, "drift_open:v1")]
    reasons = [
        _reason("data_rejected", "drop/x.csv"),
        _reason("drift_open", "v1", message="new text"),
    ]
    out = diff(reasons, live)
    assert [r["key"] for r in out.opened] == ["data_rejected:drop/x.csv"]
    assert [c["key"] for c in out.resolved] == ["missed_runs:schedule"]
    assert [cid for cid, _ in out.refreshed] == [2]
    # the watchdog's scope: only time-based kinds open or resolve
    scoped = diff([], live, scope=frozenset({"missed_runs", "champion_too_old"}))
    assert [c["key"] for c in scoped.resolved] == ["missed_runs:schedule"] and not scoped.opened
    # a severity change closes the old condition and opens a new one
    worse = diff([_reason("drift_open", "v1", "failing")], [live[1]])
    assert (
        [c["key"] for c in worse.resolved] == [r["key"] for r in worse.opened] == ["drift_open:v1"]
    )


def test_informational_events_of_a_run() -> None:
    from riskwatch.pipeline.alerting import informational
    from riskwatch.pipeline.run import RunResult

    steps = [{"step": "deploy", "decision": "promoted: roc_auc 0.71 is not worse than 0.70"}]
    result = RunResult(
        7, "ok", "retrained; v3 promoted", steps, champion=3, report="/r/report.html"
    )
    assert [(e["kind"], e["subject"]) for e in informational(result)] == [
        ("champion_promoted", "v3"),
        ("report_ready", "run7"),
    ]
    kept = RunResult(8, "ok", "no drift", [{"step": "deploy", "decision": "kept champion: ..."}])
    assert informational(kept) == []
