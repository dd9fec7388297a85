"""The shared state of one bench/peers.py run: sizes, the peers, prepared projects and servers.

Everything is prepared lazily (only the rows asked for pay for their set-up) and untimed, under
one work folder (bench/.work/peers-run-<pid>, removed at the end unless --keep).
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peer_env as pe
import peer_projects as pp
from peer_http import Server, free_port, start_server


@dataclass(frozen=True)
class Sizes:
    """Row sizes at ``scale`` (1.0 = the issue's table)."""

    scale: float

    def n(self, full: float, least: int) -> int:
        return max(least, round(full * self.scale))

    @property
    def course_rows(self) -> int:  # rows 3-5
        return self.n(1_000_000, 1000)

    @property
    def course_rows_10m(self) -> int:  # row 3, the 10M goal
        return self.n(10_000_000, 10_000)

    @property
    def demo_clients(self) -> int:  # rows 2 (demo), 5 (GBM), 7, 9
        return self.n(10_000, 100)

    @property
    def drift_sizes(self) -> list[int]:  # row 8
        return [self.n(n, 200) for n in (10_000, 100_000, 1_000_000)]

    @property
    def gbm_train_rows(self) -> int:  # row 10
        return self.n(100_000, 1000)

    @property
    def requests(self) -> int:  # rows 6, 7: requests per run and server
        return self.n(500, 20)

    @property
    def batch_requests(self) -> int:  # row 9
        return self.n(50, 10)


@dataclass
class Bench:
    root: Path
    sizes: Sizes
    runs: int
    timeout: float
    peers: dict[str, pe.Peer]
    skipped: dict[str, str]  # peer name -> why its column is empty
    venv: Path | None
    course_data: Path
    say: Callable[[str], None]
    busy_pin: int | None = None
    cache: dict[Any, Any] = field(default_factory=dict)
    servers: dict[str, Server] = field(default_factory=dict)

    # -- peers -------------------------------------------------------------------------------
    @property
    def peer_python(self) -> Path:
        assert self.venv is not None
        return self.venv / "bin" / "python"

    @property
    def peer_env(self) -> dict[str, str]:
        assert self.venv is not None
        return pe.peer_env(self.venv)

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def course_files(self, kind: str) -> list[Path]:
        return sorted((self.course_data / kind).glob("*.csv"))

    def course_peer(self, name: str) -> Path:
        """The peer with the course practice data ingested, trained, scored and deployed."""

        def make() -> Path:
            folder = pe.peer_dir(self.peers[name], self.root / f"{name}-course")
            for f in self.course_files("practicedata"):
                pe.link(f, folder / "in" / f.name)
            pe.link(
                self.course_data / "testdata" / "testdata.csv", folder / "testdata" / "testdata.csv"
            )
            pe.deploy_state(folder, self.peer_python, self.peer_env)
            return folder

        return self.once(("course_peer", name), make)

    def big_peer(self, name: str, trained: bool) -> Path:
        """The peer with the big course CSV as input and test data; ingested (and trained)."""

        def make() -> Path:
            folder = pe.peer_dir(self.peers[name], self.root / f"{name}-big")
            pe.link(self.big_csv(), folder / "in" / "clients.csv")
            pe.link(self.big_csv(), folder / "testdata" / "testdata.csv")
            pe.run_quiet(
                [str(self.peer_python), "ingestion.py"],
                env=self.peer_env,
                cwd=folder,
                what=f"{name} ingestion.py",
            )
            return folder

        folder: Path = self.once(("big_peer", name), make)
        if trained and not self.cache.get(("big_peer_trained", name)):
            pe.run_quiet(
                [str(self.peer_python), "training.py"],
                env=self.peer_env,
                cwd=folder,
                what=f"{name} training.py",
            )
            target = pe.deployed_model(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(pe.model_folder(folder) / "trainedmodel.pkl", target)
            self.cache[("big_peer_trained", name)] = True
        return folder

    # -- data --------------------------------------------------------------------------------
    def big_csv(self) -> Path:
        return self.once(
            "big_csv",
            lambda: pp.course_csv(self.root / "data" / "course-big.csv", self.sizes.course_rows),
        )

    def demo_current(self, rows: int) -> Path:
        """``rows`` demo snapshots from another population (a batch to predict or check)."""

        def make() -> Path:
            path = self.root / "data" / f"demo-{rows}.csv"
            pp.demo_rows(rows, seed=11).to_csv(path, index=False)
            return path

        return self.once(("demo_current", rows), make)

    # -- riskwatch projects ------------------------------------------------------------------
    def course_rw(self) -> Path:
        return self.once(
            "course_rw",
            lambda: pp.course_project(
                self.root / "rw-course",
                self.course_files("practicedata"),
                self.course_data / "testdata",
            ),
        )

    def big_rw(self, deployed: bool) -> Path:
        def ingested() -> Path:
            dest = self.root / "rw-big"
            config = pp.course_project(dest, [], self.course_data / "testdata", run=False)
            pe.link(self.big_csv(), dest / "in" / "clients.csv")
            pp.setup(pp.rw(config, "ingest"), "riskwatch ingest (big)")
            return config

        config: Path = self.once("big_rw", ingested)
        if not deployed:
            return config

        def trained() -> Path:
            dest = self.root / "rw-big-deployed"
            shutil.copytree(config.parent, dest)
            cfg = dest / "riskwatch.toml"
            pp.setup(pp.rw(cfg, "train"), "riskwatch train (big)")
            pp.setup(pp.rw(cfg, "deploy"), "riskwatch deploy (big)")
            return cfg

        return self.once("big_rw_deployed", trained)

    def demo_gbm(self) -> tuple[Path, Any]:
        """Demo project, 3 months of ``demo_clients`` ingested, gradient-boosting champion; month 4."""

        def make() -> tuple[Path, Any]:
            months = pp.demo_months(self.sizes.demo_clients, 4, seed=5)
            config = pp.demo_project(self.root / "rw-demo-gbm", months[:3], "gradient_boosting")
            return config, months[3]

        return self.once("demo_gbm", make)

    def reference_csv(self) -> Path:
        def make() -> Path:
            out = self.root / "data" / "reference.csv"
            script = Path(__file__).with_name("export_reference.py")
            pp.setup(
                [pp.PYTHON, str(script), str(self.demo_gbm()[0]), str(out)], "export reference"
            )
            return out

        return self.once("reference_csv", make)

    # -- servers -----------------------------------------------------------------------------
    def server(self, key: str) -> Server:
        """Started once, kept until :meth:`close`: rw-course, rw-gbm, rw-gbm-omp1, P1, P2."""
        if key in self.servers:
            return self.servers[key]
        port = free_port()
        log = self.root / f"server-{key}.log"
        rw_headers = {"X-API-Key": pp.API_KEY, "Content-Type": "application/json"}
        if key.startswith("rw-"):
            config = self.course_rw() if key == "rw-course" else self.demo_gbm()[0]
            extra = {"OMP_NUM_THREADS": "1"} if key.endswith("omp1") else {}
            cmd = pp.rw(config, "serve", "--host", "127.0.0.1", "--port", str(port))
            server = start_server(
                key,
                cmd,
                port=port,
                request=("POST", "/prediction", None, rw_headers),
                env=pp.rw_env(**extra),
                log=log,
            )
        else:
            folder = self.course_peer(key)
            cmd = [
                str(self.peer_python.parent / "gunicorn"),
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ]
            server = start_server(
                key,
                cmd,
                port=port,
                request=("GET", "/", None, {}),
                env=self.peer_env,
                cwd=folder,
                log=log,
            )
        self.servers[key] = server
        server.wait_ready()
        return server

    def peer_request(self, server: Server, rows: Path) -> None:
        """Point a peer server's request at a CSV of ``rows`` (P1: GET ?datafile=; P2: POST a folder)."""
        if server.name == "P1":
            server.method, server.body, server.headers = "GET", None, {}
            server.path = "/prediction?datafile=" + urllib.parse.quote(str(rows))
        else:
            server.method, server.path = "POST", "/prediction"
            server.body = json.dumps({"dataset_path": str(rows.parent)}).encode()
            server.headers = {"Content-Type": "application/json"}

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
