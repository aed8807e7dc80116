"""The database side restarted under load (issue 8): SQLite behind a service killed with ``kill -9`` and
started again, and a PostgreSQL server stopped and started while clients send. Clients retry the same
ExternalShipmentReference on connection errors and server faults, as the fault texts tell them to;
afterwards every OK receipt's letter is stored exactly once, and the service answers again (for
PostgreSQL: the same service processes, not restarted).

The PostgreSQL test has a cluster of its own: the session's shared cluster keeps serving the other tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep.exceptions

from tests.support import altinn as a
from tests.support.harness import PG_BIN, Postgres, Stack, wait_until

LETTERS = 60
CLIENTS = 6
DEADLINE_SECONDS = 120


class Load:
    """LETTERS letters from CLIENTS threads; each letter retried with its reference until a receipt."""

    def __init__(self, stack: Stack, prefix: str) -> None:
        self.stack = stack
        self.refs = [a.ref(prefix) for _ in range(LETTERS)]
        self.receipts: dict[str, str] = {}
        self.failures: list[tuple[str, str]] = []  # (reference, what failed)
        self.started: set[str] = set()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def _service(self) -> Any:
        if getattr(self.local, "svc", None) is None:
            self.local.svc = a.basic_fresh(self.stack.basic_url)
        return self.local.svc

    def _one(self, i: int) -> None:
        reference = self.refs[i]
        corr = a.letter(a.DIGIPOST if i % 2 else a.EBOKS, a.sdp() if i % 3 else None)
        with self.lock:
            self.started.add(reference)
        user, password, code, _ = a.DEMO
        while time.monotonic() < self.deadline:
            try:
                receipt = self._service().InsertCorrespondenceBasicV2(user, password, code, reference, corr)
            except zeep.exceptions.Fault as exc:
                what = f"fault: {exc.message}"
            except (requests.RequestException, zeep.exceptions.TransportError) as exc:
                self.local.svc = None  # a fresh connection
                what = f"connection: {type(exc).__name__}"
            else:
                with self.lock:
                    self.receipts[reference] = str(receipt.ReceiptStatusCode)
                return
            with self.lock:
                self.failures.append((reference, what))
            time.sleep(0.2)

    def run(self, fault: Callable[[Load], None]) -> None:
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(self._one, i) for i in range(LETTERS)]
            wait_until(lambda: len(self.receipts) >= LETTERS // 3, 60, "a third of the letters answered")
            fault(self)
            for f in futures:
                f.result(DEADLINE_SECONDS + 30)

    def failed(self) -> int:
        with self.lock:
            return len(self.failures)

    def assert_stored_once(self) -> None:
        assert len(self.receipts) == LETTERS, f"{LETTERS - len(self.receipts)} letters never got a receipt"
        assert set(self.receipts.values()) == {"OK"}, self.receipts
        wrong = {}
        for i, r in enumerate(self.refs):  # letters without SdpOptions (every third) have no forwarding
            want = {"receipts": 1, "correspondences": 1, "forwardings": 1 if i % 3 else 0}
            got = self.stack.stored_for(r)
            if got != want:
                wrong[r] = got
        assert not wrong, f"not stored exactly once: {wrong}"


def _answers(stack: Stack) -> bool:
    receipt = a.insert(stack.basic_url, a.ref("after"), a.letter(a.DIGIPOST, None))
    return bool(receipt.ReceiptStatusCode == "OK")


def _web_pids(stack: Stack) -> list[int]:
    master = stack.procs[1].pid
    out: list[int] = []
    for tid in os.listdir(f"/proc/{master}/task"):
        out += [int(x) for x in Path(f"/proc/{master}/task/{tid}/children").read_text().split()]
    return [master, *out]


def test_sqlite_service_killed_and_restarted_under_load_loses_nothing(stack_with: Any) -> None:
    s: Stack = stack_with(WEB_WORKERS="2")
    load = Load(s, "sqlkill")
    db = Path(s.database_url.removeprefix("sqlite:///"))

    def kill_and_restart(load: Load) -> None:
        before = load.failed()
        for pid in _web_pids(s):  # kill -9 of the master and its workers: no clean-up anywhere
            os.kill(pid, signal.SIGKILL)
        s.procs[1].wait(10)
        wait_until(lambda: load.failed() > before, 20, "requests failing while the service is down")
        s.procs[1] = s._cli("serve", "--bind", f"127.0.0.1:{s.web_port}", log="web.log")
        wait_until(lambda: _answers(s), 60, "the restarted service answering", interval=0.3)

    load.run(kill_and_restart)
    assert any(what.startswith("connection") for _, what in load.failures), load.failures[:5]
    assert db.stat().st_size > 0
    load.assert_stored_once()


@pytest.fixture
def own_postgres() -> Iterator[tuple[Postgres, Stack]]:
    pg = Postgres()
    workdir = Path(tempfile.mkdtemp(prefix="innbyggerpost-pgrestart-"))
    stack: Stack | None = None
    try:
        stack = Stack("postgresql", pg.start(), workdir).start()
        yield pg, stack
    finally:
        if stack is not None:
            stack.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_ctl(pg: Postgres, *args: str) -> None:
    cmd = [str(PG_BIN / "pg_ctl"), "-D", str(pg.dir / "data"), "-l", str(pg.dir / "log"), *args]
    if pg.as_root:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")


def test_postgresql_stopped_and_started_under_load_loses_nothing_and_service_recovers(
    own_postgres: tuple[Postgres, Stack],
) -> None:
    pg, s = own_postgres
    load = Load(s, "pgrestart")
    pids = _web_pids(s)

    def outage(load: Load) -> None:
        before = load.failed()
        _pg_ctl(pg, "-m", "fast", "-w", "stop")
        wait_until(lambda: load.failed() > before, 30, "requests failing while PostgreSQL is down")
        _pg_ctl(
            pg,
            "-o",
            f"-p {pg.port} -k {pg.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            "-w",
            "start",
        )

    load.run(outage)
    assert any(what.startswith("fault") for _, what in load.failures), load.failures[:5]
    load.assert_stored_once()
    assert _answers(s)
    assert _web_pids(s) == pids  # recovered by itself: the same master and workers
