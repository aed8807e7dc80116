"""Real processes for the end-to-end tests: PostgreSQL, simulators, the service under gunicorn, workers.

Everything listens on free ports on 127.0.0.1 and is stopped by the fixtures in ``conftest.py``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("INNBYGGERPOST_PG_BIN", "/usr/lib/postgresql/15/bin"))
BASIC_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"
WS_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else "")
    )


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500 or e.code == 503
    except OSError:
        return False


def die_with_parent() -> None:
    """In a child before exec: die when the parent does, even when it is killed hard
    (``PR_SET_PDEATHSIG`` = SIGKILL), so a benchmark or chaos run never leaves processes behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def children(pid: int) -> list[int]:
    """The child process ids of ``pid`` (from /proc)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                out += [int(x) for x in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads) in seconds, from /proc; 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return 0.0


def memory_mib(pid: int, field: str = "VmRSS") -> float:
    """``VmRSS`` (or ``VmHWM``, the peak) of one process in MiB, from /proc; 0 when it is gone."""
    try:
        m = re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        return int(m.group(1)) / 1024 if m else 0.0
    except OSError:
        return 0.0


def reset_peak_memory(pid: int) -> None:
    """Make ``VmHWM`` the current RSS again (``/proc/PID/clear_refs``, value 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


class Postgres:
    """A throw-away PostgreSQL cluster (as the ``postgres`` user when we are root: it refuses root)."""

    def __init__(self, durable: bool = False) -> None:
        # durable: fsync on (PostgreSQL's default; the benchmark); tests run with fsync=off
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="innbyggerpost-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")

    def start(self) -> str:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)")
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"
        )
        self._run(
            str(PG_BIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "innbyggerpost",
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/innbyggerpost"

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """URL of an empty database ``name`` (dropped first if there) on the PostgreSQL at ``server_url``."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


class Stack:
    """Simulators + service (gunicorn) + delivery workers against one database."""

    def __init__(self, backend: str, database_url: str, workdir: Path) -> None:
        self.backend = backend
        self.database_url = database_url
        self.workdir = workdir
        self.sim_port = free_port()
        self.smtp_port = free_port()
        self.web_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.basic_url = self.url + BASIC_PATH
        self.ws_url = self.url + WS_PATH
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.engine: Engine = create_engine(database_url)
        # the simulators' test PKI (TEST ONLY): the operator's enterprise certificate signs for the service
        self.pki_dir = workdir / "pki"
        self.env = {
            **os.environ,
            "INNBYGGERPOST_DATABASE_URL": database_url,
            # The throw-away PostgreSQL runs with fsync=off for speed: a test-only exception.
            "INNBYGGERPOST_REQUIRE_DURABLE_DATABASE": "false",
            "INNBYGGERPOST_PUBLIC_URL": self.url,
            "INNBYGGERPOST_SECRET_KEY_FILE": str(workdir / "secret.key"),
            "INNBYGGERPOST_METRICS_DIR": str(workdir / "metrics"),
            "INNBYGGERPOST_KRR_URL": f"{self.sim_url}/kontaktregisteret",  # KRR REST (the default protocol)
            "INNBYGGERPOST_KRR_SOAP_URL": f"{self.sim_url}/krr",  # with INNBYGGERPOST_KRR_PROTOCOL=soap
            "INNBYGGERPOST_ALTINN3_URL": f"{self.sim_url}/altinn3",
            "INNBYGGERPOST_SIM_PKI_DIR": str(self.pki_dir),
            "INNBYGGERPOST_MASKINPORTEN_URL": f"{self.sim_url}/maskinporten/",
            "INNBYGGERPOST_DPI_URL": f"{self.sim_url}/dpi",
            "INNBYGGERPOST_CERTIFICATE_FILE": str(self.pki_dir / "enterprise-910646192.p12"),
            "INNBYGGERPOST_CERTIFICATE_PASSWORD": "test-only",
            "INNBYGGERPOST_CONNECT_TIMEOUT": "2",
            "INNBYGGERPOST_READ_TIMEOUT": "4",
            "INNBYGGERPOST_CALL_ATTEMPTS": "2",
            "INNBYGGERPOST_CALL_BACKOFF": "0.05",
            "INNBYGGERPOST_WORKER_POLL_SECONDS": "0.2",
            "INNBYGGERPOST_DELIVERY_BACKOFF_SECONDS": "0.3",
            "INNBYGGERPOST_DELIVERY_MAX_ATTEMPTS": "5",
            "INNBYGGERPOST_CLAIM_LEASE_SECONDS": "15",  # > worst-case send 2 x (2 + 4) s (+ backoff)
            "INNBYGGERPOST_WORKER_HEARTBEAT_SECONDS": "0.3",
            "INNBYGGERPOST_WORKER_STALE_SECONDS": "2",
            "INNBYGGERPOST_MAX_REQUEST_BYTES": str(2 * 1024 * 1024),
            # notifications: the simulators' SMTP catcher and SMS gateway; reminders due at once
            "INNBYGGERPOST_SMTP_HOST": "127.0.0.1",
            "INNBYGGERPOST_SMTP_PORT": str(self.smtp_port),
            "INNBYGGERPOST_SMS_GATEWAY_URL": f"{self.sim_url}/sms",
            "INNBYGGERPOST_SMS_GATEWAY_TOKEN": "test-token",
            "INNBYGGERPOST_NOTIFICATION_REMINDER_DAYS": "0",
            "INNBYGGERPOST_NOTIFICATION_MAX_ATTEMPTS": "3",
            "INNBYGGERPOST_WEB_WORKERS": "2",
            # every test of a shared stack logs in from 127.0.0.1 as the demo users, and some send wrong
            # passwords on purpose: with the default (10 in 300 s) the (user, address) lock of one test
            # would refuse the next tests' right passwords. The throttle's own tests (test_login_throttle.py)
            # run on stacks of their own with low limits.
            "INNBYGGERPOST_LOGIN_FAILURES_MAX": "1000",
            "INNBYGGERPOST_LOG_LEVEL": "WARNING",
            "INNBYGGERPOST_DEMO_MODE": "1",
            "PYTHONWARNINGS": "ignore",
        }

    # The processes die with the process that started them (benchmark and chaos runs set it).
    tie_to_parent = False

    def _cli(
        self, *args: str, log: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        out = open(self.workdir / log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "service.entrypoints.cli", *args],
            cwd=REPO,
            env={**self.env, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if self.tie_to_parent else None,
        )

    def start(self) -> Stack:
        from simulators.pki import TestPki

        TestPki(self.pki_dir).enterprise("910646192")  # before any process needs it
        for args in (("migrate",), ("demo-owners",)):
            p = self._cli(*args, log="setup.log")
            assert p.wait(120) == 0, (self.workdir / "setup.log").read_text()
        self.procs.append(
            self._cli(
                "simulate", "--port", str(self.sim_port), "--smtp-port", str(self.smtp_port), log="sim.log"
            )
        )
        self.procs.append(self._cli("serve", "--bind", f"127.0.0.1:{self.web_port}", log="web.log"))
        wait_until(lambda: _http_ok(self.sim_url + "/_sim/stats"), 30, "simulators")
        wait_until(lambda: _http_ok(self.url + "/metrics"), 30, "service")
        return self

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        p = self._cli("worker", log="worker.log", env=env)
        self.workers.append(p)
        return p

    def ensure_worker(self) -> Stack:
        """At least one delivery worker running (tests may have stopped or killed them)."""
        if not any(p.poll() is None for p in self.workers):
            self.start_worker()
        return self

    def stop_worker(self, p: subprocess.Popen[bytes], kill: bool = False) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p in self.workers:
            self.workers.remove(p)

    def stop(self) -> None:
        for p in list(self.workers):
            self.stop_worker(p)
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.engine.dispose()

    def web_workers(self) -> list[int]:
        """The gunicorn worker processes of the service (children of the ``serve`` process)."""
        return children(self.procs[1].pid) if len(self.procs) > 1 else []

    # -- helpers for assertions -----------------------------------------------------------------
    def sim_stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.sim_url + "/_sim/stats", timeout=5) as r:
            return json.loads(r.read())

    def metric(self, name: str) -> float:
        """A Prometheus series of ``/metrics`` summed over its labels (per-process series add up)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

    def health(self) -> dict[str, Any]:
        """``GET /health`` as JSON, whether it answers 200 or 503."""
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=5) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as e:
            return dict(json.loads(e.read()))

    def outbox(self) -> dict[str, Any]:
        """What the SMTP catcher and the SMS-gateway simulator caught (``/_sim/outbox.json``)."""
        with urllib.request.urlopen(self.sim_url + "/_sim/outbox.json", timeout=5) as r:
            return json.loads(r.read())

    def sim_post(self, path: str, **payload: Any) -> dict[str, Any]:
        req = urllib.request.Request(
            self.sim_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def krr_control(self, **payload: Any) -> dict[str, Any]:
        req = urllib.request.Request(
            self.sim_url + "/_sim/krr",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def row(self, sql: str, **params: Any) -> dict[str, Any]:
        """The one row ``sql`` selects, by column name."""
        with self.engine.connect() as c:
            return dict(c.execute(text(sql), params).one()._mapping)

    def count(self, sql: str, **params: Any) -> int:
        with self.engine.connect() as c:
            return int(c.execute(text(sql), params).scalar() or 0)

    def worker_from(self, tree: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
        """A delivery worker run from the code tree ``tree`` (the bench tools compare trees) with
        ``env``, its output appended to ``log_path``."""
        with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [sys.executable, "-m", "service.entrypoints.cli", "worker"],
                cwd=tree,
                env={**env, "PYTHONPATH": str(tree)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_forwardings_final(self, like: str, n: int, timeout: float, interval: float = 0.1) -> int:
        """Wait until ``n`` forwardings of references LIKE ``like`` are final (delivered or failed);
        the number delivered (the bench tools' rounds)."""
        final_sql = (
            "SELECT count(*) FROM forwardings WHERE external_shipment_reference LIKE :p "
            "AND status IN ('Delivered_EndUser', 'Delivery_EndUser_Failed')"
        )
        wait_until(lambda: self.count(final_sql, p=like) >= n, timeout, "every letter final", interval)
        return self.count(
            "SELECT count(*) FROM forwardings WHERE external_shipment_reference LIKE :p "
            "AND status='Delivered_EndUser'",
            p=like,
        )

    def stored_for(self, reference: str) -> dict[str, int]:
        """Rows stored for one ExternalShipmentReference, per table."""
        return {
            "receipts": self.count(
                "SELECT count(*) FROM receipts WHERE external_shipment_reference=:r AND parent_id IS NULL",
                r=reference,
            ),
            "correspondences": self.count(
                "SELECT count(*) FROM correspondences WHERE external_shipment_reference=:r", r=reference
            ),
            "forwardings": self.count(
                "SELECT count(*) FROM forwardings WHERE external_shipment_reference=:r", r=reference
            ),
        }

    def message_id(self, reference: str) -> str:
        with self.engine.connect() as c:
            return str(
                c.execute(
                    text("SELECT message_id FROM forwardings WHERE external_shipment_reference=:r"),
                    {"r": reference},
                ).scalar_one()
            )
