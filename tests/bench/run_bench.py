#!/usr/bin/env python3
"""Load benchmark of innbyggerpost: ``make bench`` (``python tests/bench/run_bench.py --help``).

Starts its own stack on free loopback ports (what ``make run`` starts: migrate, demo owners, the
simulators, gunicorn, delivery worker(s); SQLite in a temporary directory by default, or a temporary
PostgreSQL cluster with ``--db postgresql``), sends ``--letters`` InsertCorrespondenceBasicV2 letters
from ``--concurrency`` client threads to the synthetic persons of the default seed, waits until every
forwarding has a final SDP status, and prints / writes (``var/bench/<timestamp>.json``):

* insert throughput and latency (p50/p95/p99), receipt status counts, errors;
* time from the first insert until every forwarding is final, per-letter insert-to-final times;
* KRR calls and ids looked up, vendor sends / duplicates / delivered (and any delivered count != 1);
* peak RSS and CPU seconds of the web, worker, simulator and client processes.

Clients: ``--client zeep`` (default, the realistic number): ONE zeep Client built from the reference
WSDL, one requests Session (zeep Transport) per thread. ``--client raw``: the envelope of each letter
kind is rendered once by zeep and posted as bytes (reference and WS-Addressing MessageID replaced),
which shows how much of the client-side cost is zeep's.

``--profile`` samples the gunicorn workers and the delivery workers with py-spy (must be installed)
for the whole run and prints the hottest functions.

Everything started is stopped on exit, on Ctrl-C and on ``--timeout``.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from tests._reference import BASIC_WSDL, altinn_reference  # noqa: E402
from tests.harness import Postgres, Stack, wait_until  # noqa: E402
from zeep import Client  # noqa: E402
from zeep.transports import Transport  # noqa: E402

from service.adapters import orm  # noqa: E402
from tests import altinn as a  # noqa: E402

FINAL = ("Delivered_EndUser", "Delivery_EndUser_Failed", "NoMailBox", "Reserved")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# Settings the test harness tunes for speed; the benchmark runs with the product defaults instead
# (what `make run` uses), except for ports, database and log level.
_TEST_TUNING = (
    "INNBYGGERPOST_CONNECT_TIMEOUT",
    "INNBYGGERPOST_READ_TIMEOUT",
    "INNBYGGERPOST_CALL_ATTEMPTS",
    "INNBYGGERPOST_CALL_BACKOFF",
    "INNBYGGERPOST_WORKER_POLL_SECONDS",
    "INNBYGGERPOST_DELIVERY_BACKOFF_SECONDS",
    "INNBYGGERPOST_DELIVERY_MAX_ATTEMPTS",
    "INNBYGGERPOST_CLAIM_LEASE_SECONDS",
    "INNBYGGERPOST_MAX_REQUEST_BYTES",
    "INNBYGGERPOST_WEB_WORKERS",
)


# ---------------------------------------------------------------------------------------------------
# the letter mix


def _notify() -> dict[str, Any]:
    # e-mail notification without an address: the vendor uses the address from KRR
    return {
        "SdpNotifications": {
            "EmailNotification": {
                "NotificationText": "Du har fått digital post",
                "Repetitions": {"DaysDelayed": [0, 7]},
            }
        }
    }


# (kind, reportee, SdpOptions or None, weight in per mille)
MIX: list[tuple[str, str, dict[str, Any] | None, float]] = [
    ("digipost_forward_only", a.DIGIPOST, a.sdp("ForwardOnly", True), 240),
    ("digipost_forward_nobackup", a.DIGIPOST, a.sdp("ForwardOnly", False), 80),
    ("digipost_forward_notify", a.DIGIPOST, a.sdp("ForwardOnly", True, **_notify()), 60),
    ("digipost_copy_altinn", a.DIGIPOST, a.sdp("CopyAltinn", True), 100),
    ("eboks_forward_only", a.EBOKS, a.sdp("ForwardOnly", True), 190),
    ("eboks_forward_nobackup", a.EBOKS, a.sdp("ForwardOnly", False), 50),
    ("eboks_copy_altinn", a.EBOKS, a.sdp("CopyAltinn", True), 80),
    ("no_postbox_fallback", a.NO_POSTBOX, a.sdp("ForwardOnly", True), 40),
    ("no_postbox_forward_only", a.NO_POSTBOX, a.sdp("ForwardOnly", False), 15),
    ("no_postbox_copy", a.NO_POSTBOX, a.sdp("CopyAltinn", True), 10),
    ("reserved_fallback", a.RESERVED, a.sdp("ForwardOnly", True), 20),
    ("reserved_forward_only", a.RESERVED, a.sdp("ForwardOnly", False), 10),
    ("not_registered", a.NOT_REGISTERED, a.sdp("ForwardOnly", True), 5),
    ("deleted", a.DELETED, a.sdp("CopyAltinn", True), 5),
    ("altinn_only_digipost", a.DIGIPOST, None, 50),
    ("altinn_only_no_postbox", a.NO_POSTBOX, None, 25),
    ("rejects", a.REJECTS, a.sdp("ForwardOnly", True), 2),
    ("fails_twice", a.FAILS_TWICE, a.sdp("ForwardOnly", True), 2),
]
SLOW_KIND = ("slow_digipost", a.SLOW, a.sdp("ForwardOnly", True), 2)


def allocate(n: int, mix: list[tuple[str, str, dict[str, Any] | None, float]]) -> dict[str, int]:
    """Exact counts per kind (largest remainder); every kind with weight gets at least one when n allows."""
    total = sum(w for *_, w in mix)
    raw = {k: n * w / total for k, _, _, w in mix}
    counts = {k: int(v) for k, v in raw.items()}
    if n >= len(mix):
        for k in counts:
            if counts[k] == 0:
                counts[k] = 1
    rest = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - int(raw[k]), reverse=True):
        if rest <= 0:
            break
        counts[k] += 1
        rest -= 1
    while rest < 0:  # the minimum-one rule overshot: take from the biggest
        k = max(counts, key=lambda k: counts[k])
        counts[k] -= 1
        rest += 1
    return counts


# ---------------------------------------------------------------------------------------------------
# processes


def _pdeathsig() -> None:
    """Children die with the benchmark even when it is killed hard (PR_SET_PDEATHSIG = 1, SIGKILL)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


class BenchStack(Stack):
    def __init__(self, backend: str, database_url: str, workdir: Path, args: argparse.Namespace) -> None:
        super().__init__(backend, database_url, workdir)
        for key in _TEST_TUNING:
            self.env.pop(key, None)
        self.env["INNBYGGERPOST_LOG_LEVEL"] = args.log_level
        for name, value in (
            ("INNBYGGERPOST_WEB_WORKERS", args.web_workers),
            ("INNBYGGERPOST_WEB_THREADS", args.web_threads),
            ("INNBYGGERPOST_WORKER_CONCURRENCY", args.worker_concurrency),
        ):
            if value is not None:  # otherwise the product default (as make run)
                self.env[name] = str(value)
        if args.whatif:
            self.env["INNBYGGERPOST_BENCH_WHATIF"] = ",".join(args.whatif)
            self.env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(Path(__file__).resolve().parent / "whatif"), self.env.get("PYTHONPATH")])
            )
        for item in args.env or []:
            k, _, v = item.partition("=")
            self.env[k] = v

    def _cli(self, *args: str, log: str | None = None, env: dict[str, str] | None = None) -> Any:
        out = open(self.workdir / log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "service.entrypoints.cli", *args],
            cwd=REPO,
            env={**self.env, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_pdeathsig,
        )


def _children(pid: int) -> list[int]:
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


def proc_sample(pid: int) -> dict[str, float] | None:
    """CPU seconds (user+system), current and peak RSS (MiB) of one process, from /proc (or psutil)."""
    try:
        import psutil  # type: ignore[import-untyped]

        p = psutil.Process(pid)
        t = p.cpu_times()
        mem = p.memory_info()
        peak = getattr(mem, "peak_wset", None)
        status = Path(f"/proc/{pid}/status").read_text() if peak is None else ""
        hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
        return {
            "cpu_s": t.user + t.system,
            "rss_mib": mem.rss / 2**20,
            "peak_rss_mib": (int(hwm.group(1)) / 1024) if hwm else mem.rss / 2**20,
        }
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - gone
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        status = Path(f"/proc/{pid}/status").read_text()
        hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
        rss = re.search(r"VmRSS:\s+(\d+) kB", status)
        return {
            "cpu_s": cpu,
            "rss_mib": int(rss.group(1)) / 1024 if rss else 0.0,
            "peak_rss_mib": int(hwm.group(1)) / 1024 if hwm else 0.0,
        }
    except (OSError, ValueError, IndexError):
        return None


def system_busy_cpu_s() -> float | None:
    """CPU seconds the whole machine was busy (all processes, all cores) since boot, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        return (user + nice + system + irq + softirq + steal) / CLK_TCK
    except (OSError, ValueError):
        return None


class ProcMonitor:
    """Samples the stack's processes every second; keeps the last sample of every pid it saw."""

    def __init__(self, roles: dict[str, list[int]], web_master: int) -> None:
        self.roles = roles
        self.web_master = web_master
        self.last: dict[int, dict[str, float]] = {}
        self.role_of: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="procmon")

    def pids(self) -> dict[int, str]:
        out = {pid: role for role, pids in self.roles.items() for pid in pids}
        for child in _children(self.web_master):
            out[child] = "web_worker"
        return out

    def sample(self) -> None:
        for pid, role in self.pids().items():
            s = proc_sample(pid)
            if s is not None:
                self.last[pid] = s
                self.role_of[pid] = role

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def snapshot(self) -> dict[str, dict[str, float]]:
        """Per role: processes, CPU seconds (sum), peak RSS (max and sum over processes)."""
        self.sample()
        out: dict[str, dict[str, float]] = {}
        for pid, s in self.last.items():
            role = self.role_of[pid]
            r = out.setdefault(
                role, {"processes": 0, "cpu_s": 0.0, "peak_rss_mib_max": 0.0, "peak_rss_mib_sum": 0.0}
            )
            r["processes"] += 1
            r["cpu_s"] += s["cpu_s"]
            r["peak_rss_mib_max"] = max(r["peak_rss_mib_max"], s["peak_rss_mib"])
            r["peak_rss_mib_sum"] += s["peak_rss_mib"]
        ru = resource.getrusage(resource.RUSAGE_SELF)
        out["bench_client"] = {
            "processes": 1,
            "cpu_s": ru.ru_utime + ru.ru_stime,
            "peak_rss_mib_max": ru.ru_maxrss / 1024,
            "peak_rss_mib_sum": ru.ru_maxrss / 1024,
        }
        busy = system_busy_cpu_s()
        if busy is not None:
            out["machine_busy"] = {
                "processes": 0,
                "cpu_s": busy,
                "peak_rss_mib_max": 0.0,
                "peak_rss_mib_sum": 0.0,
            }
        for r in out.values():
            for k in ("cpu_s", "peak_rss_mib_max", "peak_rss_mib_sum"):
                r[k] = round(r[k], 2)
        return out


class Profiler:
    """py-spy record (raw collapsed stacks) of the web master (with subprocesses) and the workers."""

    def __init__(self, outdir: Path, rate: int, idle: bool = False) -> None:
        self.outdir = outdir
        self.rate = rate
        self.idle = idle
        self.procs: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
        exe = Path(sys.executable).parent / "py-spy"
        self.exe = str(exe) if exe.exists() else shutil.which("py-spy")

    def start(self, name: str, pid: int, subprocesses: bool = False) -> None:
        if not self.exe:
            raise SystemExit("--profile needs py-spy (pip install py-spy into .venv)")
        out = self.outdir / f"pyspy-{name}.txt"
        argv = [self.exe, "record", "-p", str(pid), "-f", "raw", "-o", str(out), "-r", str(self.rate)]
        argv += ["--nonblocking"]
        if self.idle:
            argv.append("--idle")
        if subprocesses:
            argv.append("--subprocesses")
        log = open(self.outdir / f"pyspy-{name}.log", "wb")  # noqa: SIM115
        self.procs.append((name, out, subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)))

    def stop(self) -> dict[str, Any]:
        for _, _, p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        result: dict[str, Any] = {}
        for name, out, p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
            if out.exists():
                result[name] = summarise_profile(out)
        self.procs.clear()
        return result


_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('fn')} ({file})"


def summarise_profile(path: Path, top: int = 25) -> dict[str, Any]:
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [
            _frame_name(f)
            for f in stack.split(";")
            if f and not f.startswith("process ") and not f.startswith("thread ")
        ]
        if not frames:
            continue
        total += n
        self_t[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    pct = lambda c: round(100.0 * c / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "file": str(path),
        "self_top": [(f, pct(c)) for f, c in self_t.most_common(top)],
        "inclusive_top": [(f, pct(c)) for f, c in incl.most_common(top * 2)],
    }


# ---------------------------------------------------------------------------------------------------
# clients


class ZeepSender:
    """One zeep Client (WSDL parsed once); per thread a Client sharing that WSDL with its own Session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.base = Client(str(altinn_reference(BASIC_WSDL)))
        self.local = threading.local()

    def _service(self) -> Any:
        svc = getattr(self.local, "svc", None)
        if svc is None:
            session = requests.Session()
            client = Client(self.base.wsdl, transport=Transport(session=session))
            svc = self.local.svc = client.create_service(a.BASIC_BINDING, self.url)
        return svc

    def send(self, kind: str, reportee: str, sdp: dict[str, Any] | None, reference: str) -> str:
        user, password, code, _ = a.DEMO
        receipt = self._service().InsertCorrespondenceBasicV2(
            user, password, code, reference, a.letter(reportee, sdp)
        )
        return str(receipt.ReceiptStatusCode)


class RawSender:
    """Envelope per letter kind rendered once by zeep; per request only the reference and MessageID change."""

    REF = "@@REFERENCE@@"
    MSGID = re.compile(rb"<wsa:MessageID>urn:uuid:[0-9a-f-]+</wsa:MessageID>")
    STATUS = re.compile(rb"ReceiptStatusCode>(\w+)<")

    def __init__(self, url: str, mix: list[tuple[str, str, dict[str, Any] | None, float]]) -> None:
        self.url = url
        client = Client(str(altinn_reference(BASIC_WSDL)))
        svc = client.create_service(a.BASIC_BINDING, url)
        user, password, code, _ = a.DEMO
        self.soap_action = svc._binding._operations["InsertCorrespondenceBasicV2"].soapaction
        self.templates: dict[str, tuple[bytes, bytes]] = {}
        for kind, reportee, sdp, _ in mix:
            env = client.create_message(
                svc, "InsertCorrespondenceBasicV2", user, password, code, self.REF, a.letter(reportee, sdp)
            )
            to = env.find(".//{http://www.w3.org/2005/08/addressing}To")
            if to is not None:
                to.text = url
            body = etree.tostring(env, xml_declaration=True, encoding="utf-8")
            head, _, tail = body.partition(self.REF.encode())
            self.templates[kind] = (head, tail)
        self.local = threading.local()

    def send(self, kind: str, reportee: str, sdp: dict[str, Any] | None, reference: str) -> str:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        head, tail = self.templates[kind]
        head = self.MSGID.sub(
            b"<wsa:MessageID>urn:uuid:" + str(uuid.uuid4()).encode() + b"</wsa:MessageID>", head, count=1
        )
        r = session.post(
            self.url,
            data=head + reference.encode() + tail,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{self.soap_action}"'},
            timeout=(5, 120),
        )
        m = self.STATUS.search(r.content)
        if r.status_code != 200 or not m:
            raise RuntimeError(f"HTTP {r.status_code}: {r.content[:300]!r}")
        return m.group(1).decode()


# ---------------------------------------------------------------------------------------------------
# measurements


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def dist(values: list[float], scale: float = 1.0, nd: int = 1) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v * scale, nd)

    return {
        "n": len(values),
        "p50": r(pct(values, 50)),
        "p95": r(pct(values, 95)),
        "p99": r(pct(values, 99)),
        "max": r(max(values) if values else None),
        "mean": r(sum(values) / len(values) if values else None),
    }


def fill_product_defaults(args: argparse.Namespace, cpus: int) -> None:
    """For the report: the values the stack will use when not given (read from the product's config)."""
    args.explicit = {k: getattr(args, k) for k in ("web_workers", "web_threads", "worker_concurrency")}
    if args.web_workers is None:
        args.web_workers = int(os.environ.get("INNBYGGERPOST_WEB_WORKERS", str(min(4, cpus * 2))))
    if args.web_threads is None:
        args.web_threads = int(os.environ.get("INNBYGGERPOST_WEB_THREADS", "4"))
    if args.worker_concurrency is None:
        from service.config import Settings

        args.worker_concurrency = Settings().worker_concurrency


def code_version() -> str:
    """Commit the stack runs, plus ``+dirty`` when service code differs from it (the tree is shared)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "service", "clients", "simulators", "deploy"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_delta(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> dict[str, float]:
    """CPU seconds per role between two snapshots; ``other_processes``: what the rest of the machine
    used meanwhile (other people's tests, ...), which makes a run on a shared machine slower."""
    out = {
        role: round(v["cpu_s"] - before.get(role, {}).get("cpu_s", 0.0), 2)
        for role, v in after.items()
        if role != "machine_busy"
    }
    if "machine_busy" in after and "machine_busy" in before:
        busy = after["machine_busy"]["cpu_s"] - before["machine_busy"]["cpu_s"]
        out["machine_busy"] = round(busy, 2)
        out["other_processes"] = round(busy - sum(out[r] for r in out if r != "machine_busy"), 2)
    return out


def timeline(offsets: list[float], window: float) -> list[float]:
    if not offsets:
        return []
    buckets = [0] * (int(max(offsets) // window) + 1)
    for t in offsets:
        buckets[int(t // window)] += 1
    return [round(n / window, 1) for n in buckets]


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.deadline = time.monotonic() + args.timeout
        self.stopping = threading.Event()
        self.pg: Postgres | None = None
        self.stack: BenchStack | None = None
        self.monitor: ProcMonitor | None = None
        self.profiler: Profiler | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="innbyggerpost-bench-"))
        self.results: dict[str, Any] = {}
        self.code_version = "unknown"
        self.run_id = uuid.uuid4().hex[:8]

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    # -- set-up / tear-down ------------------------------------------------------------------------
    def start(self) -> None:
        args = self.args
        self.code_version = code_version()
        t = time.monotonic()
        if args.db == "postgresql":
            self.pg = Postgres()
            url = self.pg.start()
        else:
            url = f"sqlite:///{self.workdir / 'innbyggerpost.db'}"
        self.stack = BenchStack(args.db, url, self.workdir, args)
        self.stack.start()
        for _ in range(args.workers):
            self.stack.start_worker()
        wait_until(
            lambda: (
                self.stack is not None
                and self.stack.count("SELECT count(*) FROM worker_heartbeats") >= args.workers
            ),
            60,
            "delivery workers' first heartbeat",
            0.2,
        )
        web_master = self.stack.procs[1].pid
        wait_until(lambda: len(_children(web_master)) >= args.web_workers, 30, "gunicorn workers")
        self.monitor = ProcMonitor(
            {
                "simulators": [self.stack.procs[0].pid],
                "web_master": [web_master],
                "delivery_worker": [p.pid for p in self.stack.workers],
            },
            web_master,
        )
        self.monitor.start()
        if args.profile:
            profdir = REPO / "var" / "bench" / f"pyspy-{dt.datetime.now():%Y%m%d-%H%M%S}-{self.run_id}"
            profdir.mkdir(parents=True, exist_ok=True)  # kept: the workdir is removed at the end
            self.profiler = Profiler(profdir, args.profile_rate, args.profile_idle)
            self.profiler.start("web", web_master, subprocesses=True)
            for i, p in enumerate(self.stack.workers):
                self.profiler.start(f"worker{i + 1}", p.pid)
        print(
            f"stack up in {time.monotonic() - t:.1f}s: db={args.db} web={self.stack.url} sim={self.stack.sim_url} "
            f"web_workers={args.web_workers}x{args.web_threads} threads, delivery workers={args.workers}"
            f"x{args.worker_concurrency} threads; workdir {self.workdir}",
            flush=True,
        )

    def stop(self) -> None:
        if self.profiler is not None:
            try:
                self.results["profile"] = self.profiler.stop()
            except Exception as exc:  # noqa: BLE001
                print(f"profile: {exc}", file=sys.stderr)
        if self.monitor is not None:
            self.monitor.stop()
        if self.stack is not None:
            try:
                self.stack.stop()
            except Exception as exc:  # noqa: BLE001
                print(f"stopping the stack: {exc}", file=sys.stderr)
                for p in self.stack.procs + self.stack.workers:
                    if p.poll() is None:
                        p.kill()
        if self.pg is not None:
            self.pg.stop()
        if self.args.keep:
            print(f"logs and data kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- phase 1: inserts --------------------------------------------------------------------------
    def plan(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        mix = MIX + ([SLOW_KIND] if self.args.slow else [])
        counts = allocate(self.args.letters, mix)
        by_kind = {k: (r, s) for k, r, s, _ in mix}
        letters = [(k, *by_kind[k]) for k, n in counts.items() for _ in range(n)]
        random.Random(self.args.seed).shuffle(letters)
        self.results["mix"] = counts
        return letters

    def insert_phase(self, letters: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        assert self.stack is not None
        mix = MIX + ([SLOW_KIND] if self.args.slow else [])
        t = time.monotonic()
        sender: ZeepSender | RawSender = (
            ZeepSender(self.stack.basic_url)
            if self.args.client == "zeep"
            else RawSender(self.stack.basic_url, mix)
        )
        print(
            f"{self.args.client} client ready in {time.monotonic() - t:.2f}s; sending {len(letters)} letters",
            flush=True,
        )
        lock = threading.Lock()
        nxt = iter(range(len(letters)))
        records: list[tuple[str, float, float, str]] = []  # kind, start (monotonic), latency, status/error
        errors: Counter[str] = Counter()
        answered = [0]  # progress only (unlocked increments: approximate)

        def run() -> None:
            local: list[tuple[str, float, float, str]] = []
            while not self.stopping.is_set() and self.remaining() > 0:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    break
                kind, reportee, sdp = letters[i]
                ref = f"bench-{self.run_id}-{i:06d}"
                t0 = time.monotonic()
                try:
                    status = sender.send(kind, reportee, sdp, ref)
                except Exception as exc:  # noqa: BLE001 - counted
                    status = "error"
                    with lock:
                        errors[f"{type(exc).__name__}: {str(exc)[:160]}"] += 1
                local.append((kind, t0, time.monotonic() - t0, status))
                answered[0] += 1
            with lock:
                records.extend(local)

        threads = [
            threading.Thread(target=run, daemon=True, name=f"client-{i}")
            for i in range(self.args.concurrency)
        ]
        self.cpu_before = self.monitor.snapshot() if self.monitor else {}
        self.t_first = time.monotonic()
        self.wall_first = dt.datetime.now(dt.UTC)
        for th in threads:
            th.start()
        last_print = time.monotonic()
        while any(th.is_alive() for th in threads):
            for th in threads:
                th.join(0.5)
            if time.monotonic() - last_print >= 10:
                last_print = time.monotonic()
                print(
                    f"  inserts: ~{answered[0]} answered after {time.monotonic() - self.t_first:.0f}s",
                    flush=True,
                )
        self.t_inserts_done = time.monotonic()
        self.cpu_inserts = self.monitor.snapshot() if self.monitor else {}
        ok = [r for r in records if r[3] != "error"]
        has_sdp = {k: sdp is not None for k, _, sdp, _ in mix}
        elapsed = (max(r[1] + r[2] for r in records) - self.t_first) if records else 0.0
        self.records = records
        self.results["insert"] = {
            "client": self.args.client,
            "concurrency": self.args.concurrency,
            "sent": len(records),
            "answered": len(ok),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors.most_common(10)),
            "elapsed_s": round(elapsed, 2),
            "throughput_letters_per_s": round(len(ok) / elapsed, 1) if elapsed else None,
            "latency_ms": dist([r[2] for r in ok], 1000.0),
            "latency_ms_with_sdp": dist([r[2] for r in ok if has_sdp[r[0]]], 1000.0),
            "latency_ms_without_sdp": dist([r[2] for r in ok if not has_sdp[r[0]]], 1000.0),
            "receipt_status": dict(Counter(r[3] for r in records)),
            # answered per 10 s window since the first insert (shows slow-down over the run)
            "timeline_letters_per_s_10s": timeline([r[1] + r[2] - self.t_first for r in ok], 10.0),
            "timed_out": self.remaining() <= 0,
        }

    # -- phase 2: deliveries -----------------------------------------------------------------------
    def wait_final(self) -> None:
        assert self.stack is not None
        eng = self.stack.engine
        expected = self.stack.count(
            "SELECT count(*) FROM forwardings WHERE external_shipment_reference LIKE :p",
            p=f"bench-{self.run_id}-%",
        )
        last_print = 0.0
        by_status: dict[str, int] = {}
        last_seen: dict[str, int] = {}
        last_change = time.monotonic()
        while True:
            with eng.connect() as c:
                by_status = {
                    s: int(n)
                    for s, n in c.execute(
                        text("SELECT status, count(*) FROM forwardings GROUP BY status")
                    ).all()
                }
            pending = sum(n for s, n in by_status.items() if s not in FINAL)
            now = time.monotonic()
            if pending == 0:
                break
            if by_status != last_seen:
                last_seen, last_change = by_status, now
            elif now - last_change >= self.args.stall:
                print(f"  STALLED: no status change for {self.args.stall:.0f}s: {by_status}", flush=True)
                self.results["timed_out"] = True
                self.results["stalled"] = True
                break
            if self.remaining() <= 0 or self.stopping.is_set():
                print(f"  TIMEOUT waiting for final statuses: {by_status}", flush=True)
                self.results["timed_out"] = True
                break
            if now - last_print >= 10:
                last_print = now
                print(f"  forwardings after {now - self.t_first:.0f}s: {by_status}", flush=True)
            time.sleep(self.args.poll)
        self.t_all_final = time.monotonic()
        self.cpu_final = self.monitor.snapshot() if self.monitor else {}
        self.results["forwardings_by_status"] = by_status
        self.results["forwardings_expected"] = expected

    # -- phase 3: numbers --------------------------------------------------------------------------
    def collect(self) -> None:
        assert self.stack is not None
        F, S = orm.Forwarding, orm.SdpStatusChange
        last_change = func.max(S.status_date)
        with self.stack.engine.connect() as c:
            rows = c.execute(
                select(F.id, F.status, F.created_at, F.vendor_orgnr, F.message_id, F.attempts, last_change)
                .outerjoin(S, S.forwarding_id == F.id)
                .where(F.external_shipment_reference.like(f"bench-{self.run_id}-%"))
                .group_by(F.id, F.status, F.created_at, F.vendor_orgnr, F.message_id, F.attempts)
            ).all()
            n_corr = c.execute(text("SELECT count(*) FROM correspondences")).scalar()
            n_altinn = c.execute(
                text("SELECT count(*) FROM correspondences WHERE altinn_status IS NOT NULL")
            ).scalar()

        def as_dt(v: Any) -> dt.datetime:
            if isinstance(v, str):
                v = dt.datetime.fromisoformat(v)
            return v if v.tzinfo else v.replace(tzinfo=dt.UTC)

        final_rows = [r for r in rows if r[1] in FINAL and r[6] is not None]
        t2f_all = [(as_dt(r[6]) - as_dt(r[2])).total_seconds() for r in final_rows]
        t2f_vendor = [
            (as_dt(r[6]) - as_dt(r[2])).total_seconds()
            for r in final_rows
            if r[1] in ("Delivered_EndUser", "Delivery_EndUser_Failed")
        ]
        t2f_delivered = [
            (as_dt(r[6]) - as_dt(r[2])).total_seconds() for r in final_rows if r[1] == "Delivered_EndUser"
        ]
        last_final = max((as_dt(r[6]) for r in final_rows), default=None)
        first_created = min((as_dt(r[2]) for r in rows), default=None)

        stats = get_json(self.stack.sim_url + "/_sim/stats")
        krr = stats["krr"]
        vendors = stats["postbox"]["vendors"]
        delivered_msgs: dict[str, int] = {}
        vendor_out: dict[str, Any] = {}
        for orgnr, v in vendors.items():
            delivered_msgs.update(v["delivered"])
            counts = Counter(v["delivered"].values())
            vendor_out[orgnr] = {
                "sends": v["sends"],
                "accepted": v["accepted"],
                "duplicates": v["duplicates"],
                "rejected": v["rejected"],
                "server_failures": v["server_failures"],
                "delivered_messages": len(v["delivered"]),
                "delivered_count_histogram": {str(k): n for k, n in sorted(counts.items())},
                "queued_receipts_left": v["queued_receipts"],
            }
        not_once = {m: n for m, n in delivered_msgs.items() if n != 1}
        delivered_fwd = [r for r in rows if r[1] == "Delivered_EndUser"]
        missing = [r[4] for r in delivered_fwd if delivered_msgs.get(r[4]) != 1]
        t_final = self.t_all_final - self.t_first
        delivered_span = None
        if t2f_delivered and last_final is not None:
            delivered_span = (last_final - self.wall_first).total_seconds()
        n_vendor = len(t2f_vendor)
        self.results["delivery"] = {
            "forwardings": len(rows),
            "first_insert_to_all_final_s": round(t_final, 2),
            "first_insert_to_last_final_status_date_s": round(delivered_span, 2)
            if delivered_span is not None
            else None,
            "after_last_insert_to_all_final_s": round(self.t_all_final - self.t_inserts_done, 2),
            "vendor_final_per_s_over_run": round(n_vendor / t_final, 1) if t_final > 0 else None,
            "insert_to_final_s_all": dist(t2f_all, 1.0, 2),
            "insert_to_final_s_vendor_outcome": dist(t2f_vendor, 1.0, 2),
            "insert_to_final_s_delivered": dist(t2f_delivered, 1.0, 2),
            "attempts_histogram": dict(sorted(Counter(str(r[5]) for r in rows).items())),
            "first_forwarding_created": first_created.isoformat() if first_created else None,
            "correspondences": n_corr,
            "altinn_inbox_copies": n_altinn,
        }
        self.results["krr"] = {
            "calls": krr["calls"],
            "requests": krr["requests"],
            "ids_looked_up": sum(krr["batch_sizes"]),
            "max_batch": max(krr["batch_sizes"], default=0),
            "refused": krr["refused"],
        }
        self.results["vendors"] = vendor_out
        self.results["stuck"] = self.stuck_forwardings(delivered_msgs)
        self.results["exactly_once"] = {
            "delivered_messages": len(delivered_msgs),
            "delivered_count_not_1": len(not_once),
            "examples": dict(list(not_once.items())[:5]),
            "db_delivered_without_exactly_one_vendor_delivery": len(missing),
        }
        self.results["processes"] = {
            "after_inserts": self.cpu_inserts,
            "at_all_final": self.cpu_final,
            "cpu_s_during_inserts": cpu_delta(self.cpu_before, self.cpu_inserts),
            "cpu_s_total_run": cpu_delta(self.cpu_before, self.cpu_final),
            "wall_s_inserts": round(self.t_inserts_done - self.t_first, 2),
            "wall_s_total_run": round(self.t_all_final - self.t_first, 2),
        }

    def stuck_forwardings(self, delivered_msgs: dict[str, int], limit: int = 5) -> dict[str, Any]:
        """Forwardings without a final status (after a timeout): how many, and the history of a few."""
        assert self.stack is not None
        F, S = orm.Forwarding, orm.SdpStatusChange
        with self.stack.engine.connect() as c:
            rows = c.execute(
                select(F.id, F.reportee, F.status, F.job_state, F.attempts, F.message_id, F.last_error)
                .where(F.status.not_in(FINAL), F.external_shipment_reference.like(f"bench-{self.run_id}-%"))
                .order_by(F.id)
            ).all()
            examples = []
            for r in rows[:limit]:
                hist = c.execute(
                    select(S.status, S.status_date, S.text).where(S.forwarding_id == r[0]).order_by(S.id)
                ).all()
                examples.append(
                    {
                        "id": r[0],
                        "reportee": r[1],
                        "status": r[2],
                        "job_state": r[3],
                        "attempts": r[4],
                        "vendor_delivered_count": delivered_msgs.get(r[5], 0),
                        "last_error": r[6],
                        "history": [[h[0], str(h[1]), h[2]] for h in hist],
                    }
                )
        by = Counter(f"{r[2]}/{r[3]}" for r in rows)
        return {
            "count": len(rows),
            "by_status_job_state": dict(by),
            "vendor_has_delivered": sum(1 for r in rows if delivered_msgs.get(r[5])),
            "examples": examples,
        }

    # -- report ------------------------------------------------------------------------------------
    def report(self) -> Path:
        args = self.args
        self.results["config"] = {
            "letters": args.letters,
            "concurrency": args.concurrency,
            "client": args.client,
            "db": args.db,
            "web_workers": args.web_workers,
            "web_threads": args.web_threads,
            "delivery_workers": args.workers,
            "worker_concurrency": args.worker_concurrency,
            "slow": args.slow,
            "log_level": args.log_level,
            "env": args.env or [],
            "whatif": args.whatif or [],
            "cpus": os.cpu_count(),
            "code": self.code_version,
            "python": sys.version.split()[0],
            "started": self.wall_first.isoformat() if hasattr(self, "wall_first") else None,
        }
        outdir = REPO / "var" / "bench"
        outdir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        whatif = "".join(f"-{w}" for w in args.whatif or [])
        path = outdir / f"{stamp}-{args.db}-{args.client}-{args.letters}{whatif}.json"
        path.write_text(json.dumps(self.results, indent=2, default=str))
        print_report(self.results)
        print(f"\nresults: {path}")
        return path


def print_report(r: dict[str, Any]) -> None:
    c = r["config"]
    ins = r.get("insert", {})
    d = r.get("delivery", {})
    print("\n================ innbyggerpost benchmark ================")
    print(
        f"{c['letters']} letters, {c['concurrency']} client threads ({c['client']} client), db={c['db']}, "
        f"web {c['web_workers']} procs x {c['web_threads']} threads, delivery workers {c['delivery_workers']} x "
        f"{c['worker_concurrency']} threads, {c['cpus']} CPUs"
        + (f"; WHAT-IF {c['whatif']}" if c["whatif"] else "")
        + f"; code {c.get('code', '?')}"
    )
    if ins:
        lat = ins["latency_ms"]
        print(
            f"insert:  {ins['answered']}/{ins['sent']} answered, {ins['errors']} errors in {ins['elapsed_s']} s "
            f"-> {ins['throughput_letters_per_s']} letters/s"
        )
        print(f"         latency ms p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}")
        w, wo = ins["latency_ms_with_sdp"], ins["latency_ms_without_sdp"]
        print(
            f"         with SdpOptions p50 {w['p50']} p95 {w['p95']}; without p50 {wo['p50']} p95 {wo['p95']}"
        )
        print(f"         receipts {ins['receipt_status']}")
        print(f"         letters/s per 10 s: {ins['timeline_letters_per_s_10s']}")
        for e, n in ins["error_kinds"].items():
            print(f"         error x{n}: {e}")
    print(f"mix:     {r.get('mix')}")
    if d:
        print(
            f"final:   {d['forwardings']} forwardings {r.get('forwardings_by_status')}; first insert -> "
            + ("gave up waiting (STALLED/TIMEOUT) after " if r.get("timed_out") else "all final ")
            + f"{d['first_insert_to_all_final_s']} s (last status_date at {d['first_insert_to_last_final_status_date_s']} s; "
            f"{d['after_last_insert_to_all_final_s']} s after the last insert answer)"
        )
        for key, label in (
            ("insert_to_final_s_all", "all forwardings"),
            ("insert_to_final_s_vendor_outcome", "sent to a vendor"),
            ("insert_to_final_s_delivered", "Delivered_EndUser"),
        ):
            x = d[key]
            print(
                f"         insert->final s ({label}, n={x['n']}): p50 {x['p50']}  p95 {x['p95']}  max {x['max']}"
            )
        print(
            f"         send attempts {d['attempts_histogram']}; correspondences {d['correspondences']} "
            f"(Altinn inbox {d['altinn_inbox_copies']})"
        )
    if "krr" in r:
        k = r["krr"]
        print(f"KRR:     {k['calls']} calls, {k['ids_looked_up']} ids looked up, max batch {k['max_batch']}")
    for orgnr, v in r.get("vendors", {}).items():
        print(
            f"vendor {orgnr}: sends {v['sends']} accepted {v['accepted']} duplicates {v['duplicates']} "
            f"rejected {v['rejected']} server_failures {v['server_failures']} delivered {v['delivered_messages']} "
            f"(delivered-count histogram {v['delivered_count_histogram']})"
        )
    if "exactly_once" in r:
        e = r["exactly_once"]
        print(
            f"exactly once: delivered count != 1 for {e['delivered_count_not_1']} messages; "
            f"DB Delivered without exactly one vendor delivery: {e['db_delivered_without_exactly_one_vendor_delivery']}"
        )
    st = r.get("stuck") or {}
    if st.get("count"):
        print(
            f"NOT FINAL: {st['count']} forwardings {st['by_status_job_state']}, "
            f"{st['vendor_has_delivered']} of them delivered at the vendor; examples:"
        )
        for ex in st["examples"]:
            print(
                f"  forwarding {ex['id']} ({ex['reportee']}) {ex['status']}/{ex['job_state']} "
                f"attempts {ex['attempts']} vendor delivered x{ex['vendor_delivered_count']}:"
            )
            for h in ex["history"]:
                print(f"      {h[1]}  {h[0]}  {h[2]}")
    p = r.get("processes")
    if p:
        print("processes (peak RSS MiB max/sum over processes; CPU s during inserts / whole run):")
        for role, v in p["at_all_final"].items():
            if role == "machine_busy":
                continue
            print(
                f"  {role:16s} x{v['processes']}: peak RSS {v['peak_rss_mib_max']} / {v['peak_rss_mib_sum']} MiB, "
                f"CPU {p['cpu_s_during_inserts'].get(role)} / {p['cpu_s_total_run'].get(role)} s"
            )
        di, dt_ = p["cpu_s_during_inserts"], p["cpu_s_total_run"]
        if "machine_busy" in di:
            print(
                f"  machine: busy {di['machine_busy']} / {dt_['machine_busy']} CPU s of "
                f"{round(p['wall_s_inserts'] * c['cpus'], 1)} / {round(p['wall_s_total_run'] * c['cpus'], 1)} available; "
                f"other processes (not this benchmark) {di['other_processes']} / {dt_['other_processes']} s"
            )
    for name, prof in (r.get("profile") or {}).items():
        print(f"py-spy {name}: {prof['samples']} samples ({prof['file']})")
        print("   self%  function")
        for f, x in prof["self_top"][:15]:
            print(f"   {x:5.1f}  {f}")
        print("   incl%  function")
        for f, x in prof["inclusive_top"][:30]:
            print(f"   {x:5.1f}  {f}")


def main(argv: list[str] | None = None) -> int:
    cpus = os.cpu_count() or 1
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--letters", type=int, default=10000)
    p.add_argument("--concurrency", type=int, default=16, help="client threads")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument(
        "--web-workers", type=int, help="gunicorn processes (default: the product's, min(4, 2*cores))"
    )
    p.add_argument("--web-threads", type=int, help="gunicorn threads per process (default: the product's)")
    p.add_argument("--workers", type=int, default=1, help="delivery worker processes")
    p.add_argument(
        "--worker-concurrency",
        type=int,
        help="deliveries in flight per delivery worker (default: the product's)",
    )
    p.add_argument("--client", choices=["zeep", "raw"], default="zeep")
    p.add_argument("--slow", action="store_true", help="include the slow (2 s) Digipost person")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    p.add_argument(
        "--stall",
        type=float,
        default=120.0,
        help="stop waiting when no forwarding changed status for this many seconds (stuck letters)",
    )
    p.add_argument("--poll", type=float, default=0.5, help="seconds between final-status polls")
    p.add_argument("--seed", type=int, default=1, help="shuffle seed of the letter mix")
    p.add_argument("--log-level", default="WARNING", help="INNBYGGERPOST_LOG_LEVEL of the stack")
    p.add_argument(
        "--env", action="append", metavar="NAME=VALUE", help="extra setting for the stack (repeatable)"
    )
    p.add_argument(
        "--whatif",
        action="append",
        choices=["gc-freeze", "spyne-gc-off"],
        help="measure a suggested fix without changing the service (tests/bench/whatif/sitecustomize.py)",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the web and delivery workers")
    p.add_argument(
        "--profile-idle", action="store_true", help="py-spy --idle: wall-clock (waits included), not only CPU"
    )
    p.add_argument("--profile-rate", type=int, default=50, help="py-spy samples per second")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SQLite file)")
    args = p.parse_args(argv)
    fill_product_defaults(args, cpus)

    bench = Bench(args)

    def _term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    rc = 0
    try:
        bench.start()
        letters = bench.plan()
        bench.insert_phase(letters)
        ins = bench.results["insert"]
        print(
            f"inserts done: {ins['answered']} in {ins['elapsed_s']} s = {ins['throughput_letters_per_s']} letters/s; "
            "waiting for final statuses",
            flush=True,
        )
        bench.wait_final()
        bench.collect()
    except KeyboardInterrupt:
        bench.stopping.set()
        print(
            "\ninterrupted: stopping everything (no report; use --timeout for a bounded run)", file=sys.stderr
        )
        rc = 130
    finally:
        bench.stop()
    if rc:
        return rc
    bench.report()
    r = bench.results
    if r.get("timed_out") or r["insert"]["timed_out"] or r.get("stuck", {}).get("count"):
        rc = 2
    if (
        r["exactly_once"]["delivered_count_not_1"]
        or r["exactly_once"]["db_delivered_without_exactly_one_vendor_delivery"]
    ):
        rc = 3
    if r["insert"]["errors"]:
        rc = rc or 4
    return rc


if __name__ == "__main__":
    sys.exit(main())
