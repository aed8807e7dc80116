"""``innbyggerpost simulate`` as a real process on a free port, with a seed and a test PKI of the test's
own (for the clients' integration tests over real sockets)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simulators.pki import TestPki
from simulators.seed import DEFAULT_SEED
from tests.support.harness import REPO, free_port, wait_until


class SimProcess:
    def __init__(self, workdir: Path, seed_extra: dict[str, list[Any]] | None = None) -> None:
        """``seed_extra``: lists appended to the default seed's (e.g. ``maskinporten_clients``)."""
        self.workdir = workdir
        self.pki_dir = workdir / "pki"
        seed = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
        for key, items in (seed_extra or {}).items():
            seed[key] = list(seed.get(key, [])) + list(items)
        self.seed_path = workdir / "seed.json"
        self.seed_path.write_text(json.dumps(seed), encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="innbyggerpost-sim-", suffix=".log", dir=workdir)[1])
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.entrypoints.cli",
                "simulate",
                "--port",
                str(self.port),
                "--smtp-port",
                "0",
                "--seed",
                str(self.seed_path),
                "--pki-dir",
                str(self.pki_dir),
            ],
            cwd=REPO,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, 30, "simulators")

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            self.stats()
            return True
        except OSError:
            return False

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            self.url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        """Zero the simulators' counters and queues."""
        self.post("/_sim/reset", {})

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_sim/stats", timeout=5) as r:
            stats: dict[str, Any] = json.loads(r.read())
            return stats

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextmanager
def simulators(prefix: str, seed_extra: dict[str, list[Any]] | None = None) -> Iterator[SimProcess]:
    """A ``SimProcess`` in a fresh temporary directory, stopped and removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    s = SimProcess(workdir, seed_extra)
    try:
        yield s
    finally:
        s.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def operator_pki(sim: SimProcess, orgnr: str) -> TestPki:
    """The simulators' test PKI with the operator's enterprise certificate made."""
    pki = TestPki(sim.pki_dir)
    pki.enterprise(orgnr)
    return pki
