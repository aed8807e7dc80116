"""Faults that say what to do, through the real stack (issue 8): with the database down an insert gets
its own AltinnFault (nothing stored, a retry with the same reference is safe), ``/health`` answers 503
and says why, and after the database is back the same request is stored exactly once."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support import altinn as a
from tests.support.harness import PG_BIN, Postgres, Stack, wait_until

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep.exceptions

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL backend not selected")


class _Cluster(Postgres):
    def pause(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )


@pytest.fixture(scope="module")
def pg_stack() -> Iterator[tuple[Stack, _Cluster]]:
    pg = _Cluster()
    workdir = Path(tempfile.mkdtemp(prefix="innbyggerpost-pgdown-"))
    s = Stack("postgresql", pg.start(), workdir)
    s.env["INNBYGGERPOST_WEB_WORKERS"] = "1"
    try:
        yield s.start(), pg
    finally:
        s.stop()
        pg.stop()
        if not os.environ.get("INNBYGGERPOST_KEEP_TEST_LOGS"):
            shutil.rmtree(workdir, ignore_errors=True)


def test_database_down_fault_says_nothing_stored_and_retry_is_safe(pg_stack: tuple[Stack, _Cluster]) -> None:
    s, pg = pg_stack
    s.ensure_worker()
    wait_until(lambda: s.health().get("status") == "ok", 30, "healthy before the outage")
    reference = a.ref("down")
    pg.pause()
    try:
        with pytest.raises(zeep.exceptions.Fault) as err:
            a.insert(s.basic_url, reference, a.letter(a.DIGIPOST))
        message = err.value.message
        assert "cannot reach its database" in message, message
        assert "Nothing was stored" in message and "same ExternalShipmentReference is safe" in message
        assert a.fault_error_id(err.value) == 0
        health = s.health()
        assert health["status"] == "unhealthy", health
        assert health["writes"]["last_write"] == "failed: database_unavailable", health
        assert s.metric("innbyggerpost_write_failures_total") >= 1
    finally:
        pg.resume()
    assert s.stored_for(reference)["receipts"] == 0
    receipt = a.insert(s.basic_url, reference, a.letter(a.DIGIPOST))
    assert receipt.ReceiptStatusCode == "OK"
    assert s.stored_for(reference)["receipts"] == 1
    assert s.health()["writes"]["last_write"] == "ok"
