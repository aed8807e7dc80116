#!/usr/bin/env python3
"""Benchmark of innbyggerpost: ``make bench`` (``python tests/bench/run_bench.py --help``).

Per database (``--db sqlite|postgresql|both``; default both) it starts the real stack in a temporary
directory on free loopback ports: what ``make run`` starts (migrate, demo owners, the simulators,
gunicorn, delivery worker(s)), with the product defaults (SQLite: the default web processes and one
delivery worker; PostgreSQL: a throw-away cluster with fsync on, 2 web processes, 2 delivery workers)
unless a flag says otherwise. In one run it measures:

1. inserts: ``InsertCorrespondenceBasicV2`` at ``--connections`` (32) keep-alive connections from
   ``wrk`` (Debian's package; a Lua script joins pre-rendered envelope pieces with a unique
   ExternalShipmentReference per request, see ``insert.lua``): with SdpOptions (KRR in the path),
   without SdpOptions, and with one 1 MB attachment. Throughput of OK receipts, p50/p99/max latency,
   web CPU ms per letter (utime+stime of the gunicorn workers from /proc/<pid>/stat, before/after).
2. the floor: the same envelope parsed and serialised by plain lxml plus one equivalent INSERT and
   commit (SQLite WAL with synchronous=FULL; PostgreSQL with synchronous_commit=on), per second on
   one core; ``floor_ratio = insert_per_s / (floor_per_s * 2)`` (two cores).
3. a mass mailing (``--letters``, default 100 000; the mix of letter kinds below, to the default
   seed's persons) from first insert until every forwarding is final (the DB is polled): letters/s,
   KRR calls and ids, vendor sends (simulator counters), lost letters and letters delivered twice.
   Client: ``--connections`` Python threads on keep-alive connections posting pre-rendered bytes
   (exact letter count and per-letter receipt); its CPU is reported.
4. status at scale on that database: ``GetCorrespondenceStatusHistoryBasic`` for 10 000 references
   and ``GetCorrespondenceStatusDetailsBasicV3`` with SdpSearchOptions for one reportee.
5. peak RSS (VmHWM) of a web worker and of a delivery worker.

Progress and a table are printed; the LAST line is one JSON object (the SQLite figures, PostgreSQL's
under ``"postgres"``); the full results go to ``var/bench/<stamp>.json``. Every phase has its own
bound and the whole run ``--timeout``; everything started is stopped on exit, Ctrl-C, SIGTERM and
timeout. Exit status: 0 all good; 2 the mass mailing did not complete in time; 3 letters lost or
delivered twice; 4 insert errors; 130 interrupted.

``--profile``: py-spy (``pip install -e '.[bench]'``) samples the web workers, the delivery workers
and the simulators for the whole run; the collapsed stacks, an SVG flame graph and the hottest functions are
written next to the results file.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import itertools
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import statistics
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
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import text  # noqa: E402
from zeep import Client  # noqa: E402

from simulators.population import population_ids  # noqa: E402
from simulators.seed import DEFAULT_SEED  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.harness import Postgres, Stack, children, wait_until  # noqa: E402
from tests.support.reference import BASIC_WSDL, reference_dir  # noqa: E402

FINAL = ("Delivered_EndUser", "Delivery_EndUser_Failed", "NoMailBox", "Reserved")
CLK_TCK = os.sysconf("SC_CLK_TCK")
KEYS = (
    "insert_per_s",
    "insert_p50_ms",
    "insert_p99_ms",
    "web_cpu_ms_per_insert",
    "floor_per_s",
    "floor_ratio",
    "dpi_sign_encrypt_cpu_ms",
    "insert_1mb_per_s",
    "mass_letters",
    "mass_letters_per_s",
    "krr_calls",
    "krr_ids",
    "lost",
    "delivered_twice",
    # forwardings of the mailing that ended Delivery_EndUser_Failed (the population's postboxes do
    # not refuse letters: failures here are the path's own, e.g. receipts that came too late)
    "mass_delivery_failed",
    "status_history_10k_ms",
    "status_v3_ms",
    "web_rss_mb",
    "worker_rss_mb",
    # issue 17: innbyggerpost's CPU per letter end to end (web + delivery workers over the mailing),
    # the simulators' apart, the floor's CPU and the web's CPU per insert over it (any machine)
    "letter_cpu_ms",
    "simulators_cpu_ms_per_letter",
    "floor_cpu_ms_per_letter",
    "web_cpu_floor_ratio",
    # busy faults (admission bound, retry-safe) the load generators got and retried: insert phases
    # and mass mailing (per phase in the results: busy_faults of each)
    "busy_faults",
)

# Settings the test harness tunes for fast tests; the benchmark runs with the product defaults
# (what `make run` uses) instead, except for ports, database and log level.
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
    "INNBYGGERPOST_REQUIRE_DURABLE_DATABASE",  # the bench's PostgreSQL runs with fsync on
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------
# the letter mix of the mass mailing

# The simulators' synthetic population (simulators/population.py): every valid fødselsnummer of the
# range is a citizen, by this mix; the mass mailing's letters go to distinct citizens of it.
POPULATION_RANGE = ("01018200000", "31129999999")
POPULATION_MIX = {"digipost": 55, "eboks": 30, "no_postbox": 9, "reserved": 4, "not_registered": 2}
SEED_BEHAVIOUR_PERSONS = frozenset({a.REJECTS, a.FAILS_TWICE, a.DELETED})


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


def allocate(n: int, mix: list[tuple[str, str, dict[str, Any] | None, float]]) -> dict[str, int]:
    """Exact counts per kind (largest remainder); every kind gets at least one when n allows."""
    total = sum(w for *_, w in mix)
    raw = {k: n * w / total for k, _, _, w in mix}
    counts = {k: int(v) for k, v in raw.items()}
    if n >= len(mix):
        for k in counts:
            counts[k] = max(counts[k], 1)
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
# pre-rendered envelopes

REF_TOKEN = "@@REF@@"
MID_TOKEN = "@@MID@@"
RPT_TOKEN = "@@RPT@@"  # the reportee of a mass-mailing letter: a citizen of the synthetic population
_MSGID = re.compile(rb"<wsa:MessageID>[^<]*</wsa:MessageID>")
_STATUS = re.compile(rb"ReceiptStatusCode>(\w+)<")
# gunicorn's drain of an unread request body before it keeps the connection (gunicorn/http/parser.py)
GUNICORN_DRAIN_BYTES = 64 * 1024
# receipt statuses of the service; Rejected is the right answer to some kinds of the mix
RECEIPTS = ("OK", "Rejected", "ValidationFailed")


class Envelopes:
    """InsertCorrespondenceBasicV2 envelopes rendered once by zeep from the reference WSDL."""

    def __init__(self, url: str) -> None:
        self.client = Client(str(reference_dir() / "altinn" / BASIC_WSDL))
        self.svc = self.client.create_service(a.BASIC_BINDING, url)
        self.url = url
        ops = self.svc._binding._operations
        self.insert_action = ops["InsertCorrespondenceBasicV2"].soapaction
        self.history_action = ops["GetCorrespondenceStatusHistoryBasic"].soapaction
        self.v3_action = ops["GetCorrespondenceStatusDetailsBasicV3"].soapaction

    def _bytes(self, env: Any) -> bytes:
        to = env.find(".//{http://www.w3.org/2005/08/addressing}To")
        if to is not None:
            to.text = self.url
        return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))

    def insert(self, corr: dict[str, Any]) -> tuple[list[bytes], list[str]]:
        """The envelope cut at its variable fields: pieces and the token between each two."""
        user, password, code, _ = a.DEMO
        env = self.client.create_message(
            self.svc, "InsertCorrespondenceBasicV2", user, password, code, REF_TOKEN, corr
        )
        body = _MSGID.sub(f"<wsa:MessageID>urn:uuid:{MID_TOKEN}</wsa:MessageID>".encode(), self._bytes(env))
        pieces, tokens = [body], []
        while True:
            last = pieces[-1]
            hits = [
                (last.find(t.encode()), t) for t in (REF_TOKEN, MID_TOKEN, RPT_TOKEN) if t.encode() in last
            ]
            if not hits:
                break
            pos, tok = min(hits)
            pieces[-1:] = [last[:pos], last[pos + len(tok) :]]
            tokens.append({REF_TOKEN: "REF", MID_TOKEN: "MID", RPT_TOKEN: "RPT"}[tok])
        assert tokens.count("REF") == 1, tokens
        return pieces, tokens

    def history(self, references: list[str]) -> bytes:
        user, password, _, _ = a.DEMO
        env = self.client.create_message(
            self.svc,
            "GetCorrespondenceStatusHistoryBasic",
            CorrespondenceSendersReferences={"string": references},
            _soapheaders={"SystemUserName": user, "SystemPassword": password},
        )
        return self._bytes(env)

    def v3(self, reportee: str) -> bytes:
        user, password, _, service = a.DEMO
        flt = {
            "ServiceCode": service,
            "ServiceEditionCode": 1,
            "Reportee": reportee,
            "SdpSearchOptions": {"IncludeCorrespondence": True},
        }
        env = self.client.create_message(
            self.svc, "GetCorrespondenceStatusDetailsBasicV3", user, password, flt
        )
        return self._bytes(env)


def join(pieces: list[bytes], tokens: list[str], ref: str, reportee: str = "") -> bytes:
    parts = [pieces[0]]
    for tok, piece in zip(tokens, pieces[1:], strict=True):
        if tok == "REF":
            parts.append(ref.encode())
        elif tok == "RPT":
            parts.append(reportee.encode())
        else:
            parts.append(str(uuid.uuid4()).encode())
        parts.append(piece)
    return b"".join(parts)


def big_letter(size: int) -> dict[str, Any]:
    data = random.Random(7).randbytes(size)
    att = {"FunctionType": "Unspecified", "FileName": "brev.pdf", "Name": "Brev", "Encrypted": False}
    return a.letter(
        a.DIGIPOST, a.sdp("ForwardOnly", True), attachments=[{**att, "Data": b"%PDF-1.4\n" + data}]
    )


# ---------------------------------------------------------------------------------------------------
# processes


class BenchStack(Stack):
    """The harness's stack with the product defaults instead of the tests' tuning."""

    def __init__(
        self, backend: str, database_url: str, workdir: Path, env: dict[str, str], log_level: str
    ) -> None:
        super().__init__(backend, database_url, workdir)
        for key in _TEST_TUNING:
            self.env.pop(key, None)
        self.env["INNBYGGERPOST_LOG_LEVEL"] = log_level
        self.env.update(env)

    tie_to_parent = True


def cpu_s(pid: int) -> float:
    """utime + stime of one process in seconds (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return 0.0


def vm_hwm_mb(pid: int) -> float:
    try:
        m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        return int(m.group(1)) / 1024 if m else 0.0
    except OSError:
        return 0.0


def machine_busy_s() -> float:
    """CPU seconds the whole machine was busy since boot (every process, every core)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK
    except (OSError, ValueError):
        return 0.0


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def rnd(v: float | None, nd: int = 1) -> float | None:
    return None if v is None else round(v, nd)


def code_version() -> str:
    """Commit of the code under test, ``+dirty`` when service/clients/simulators differ from it."""
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


# ---------------------------------------------------------------------------------------------------
# profiling (py-spy)


class Profiler:
    """py-spy record (raw collapsed stacks) of the web master (with its workers) and the workers."""

    def __init__(self, outdir: Path, rate: int) -> None:
        self.outdir = outdir
        self.rate = rate
        self.procs: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
        exe = Path(sys.executable).parent / "py-spy"
        self.exe = str(exe) if exe.exists() else shutil.which("py-spy")
        if not self.exe:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install -e '.[bench]'")

    def start(self, name: str, pid: int, subprocesses: bool = False) -> None:
        out = self.outdir / f"pyspy-{name}.txt"
        argv = [self.exe or "py-spy", "record", "-p", str(pid), "-f", "raw", "-o", str(out)]
        argv += ["-r", str(self.rate), "--nonblocking"] + (["--subprocesses"] if subprocesses else [])
        logf = open(self.outdir / f"pyspy-{name}.log", "wb")  # noqa: SIM115
        self.procs.append((name, out, subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT)))

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
                p.wait(5)
            if out.exists():
                result[name] = summarise_profile(out)
                flamegraph_svg(out, out.with_suffix(".svg"), f"innbyggerpost {name} (py-spy)")
        self.procs.clear()
        return result


_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", str(REPO) + "/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('fn')} ({file})"


def _stacks(path: Path) -> list[tuple[list[str], int]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if frames:
            out.append((frames, int(count)))
    return out


def summarise_profile(path: Path, top: int = 25) -> dict[str, Any]:
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for frames, n in _stacks(path):
        total += n
        self_t[frames[-1]] += n
        for f in set(frames):
            incl[f] += n

    def share(c: int) -> float:
        return round(100.0 * c / total, 1) if total else 0.0

    return {
        "samples": total,
        "file": str(path),
        "self_top": [(f, share(c)) for f, c in self_t.most_common(top)],
        "inclusive_top": [(f, share(c)) for f, c in incl.most_common(top * 2)],
    }


def flamegraph_svg(path: Path, out: Path, title: str, width: int = 1600, row: int = 16) -> None:
    """A plain SVG flame graph (root at the bottom) of py-spy's collapsed stacks."""
    tree: dict[str, Any] = {"n": 0, "kids": {}}
    for frames, n in _stacks(path):
        node = tree
        node["n"] += n
        for f in frames:
            node = node["kids"].setdefault(f, {"n": 0, "kids": {}})
            node["n"] += n
    total = tree["n"] or 1
    rects: list[str] = []
    depth_max = [0]

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")

    def walk(node: dict[str, Any], x: float, depth: int) -> None:
        for name, kid in sorted(node["kids"].items()):
            w = kid["n"] / total * width
            if w >= 0.5:
                depth_max[0] = max(depth_max[0], depth)
                hue = 20 + (hash(name) % 40)
                label = esc(name[: int(w / 7)]) if w > 30 else ""
                rects.append(
                    f"<g><title>{esc(name)} ({kid['n']} samples, {100 * kid['n'] / total:.1f}%)</title>"
                    f'<rect x="{x:.1f}" y="@{depth}@" width="{w:.1f}" height="{row - 1}" '
                    f'fill="hsl({hue},80%,60%)"/><text x="{x + 2:.1f}" y="@{depth}t@" font-size="11">'
                    f"{label}</text></g>"
                )
                walk(kid, x, depth + 1)
            x += w

    walk(tree, 0.0, 0)
    height = (depth_max[0] + 3) * row
    body = "\n".join(rects)
    for d in range(depth_max[0] + 1):
        y = height - (d + 2) * row
        body = body.replace(f'y="@{d}@"', f'y="{y}"').replace(f'y="@{d}t@"', f'y="{y + row - 4}"')
    out.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace">'
        f'<text x="4" y="14" font-size="13">{esc(title)}: {tree["n"]} samples</text>\n{body}\n</svg>\n'
    )


# ---------------------------------------------------------------------------------------------------
# one database


class Run:
    """The stack on one database and every measurement on it."""

    def __init__(self, db: str, args: argparse.Namespace, deadline: float, stopping: threading.Event) -> None:
        self.db = db
        self.args = args
        self.deadline = deadline
        self.stopping = stopping
        self.workdir = Path(tempfile.mkdtemp(prefix=f"innbyggerpost-bench-{db}-"))
        self.pg: Postgres | None = None
        self.stack: BenchStack | None = None
        self.profiler: Profiler | None = None
        self.run_id = uuid.uuid4().hex[:8]
        self.results: dict[str, Any] = {"db": db}
        self.figures: dict[str, Any] = {k: None for k in KEYS}
        self.failures: list[str] = []
        self.web_master = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def bound(self, seconds: float) -> float:
        return max(0.0, min(seconds, self.remaining()))

    # -- stack ---------------------------------------------------------------------------------
    def start(self) -> None:
        args = self.args
        t = time.monotonic()
        env: dict[str, str] = {}
        web = args.web_workers if args.web_workers is not None else (2 if self.db == "postgresql" else None)
        if web is not None:
            env["INNBYGGERPOST_WEB_WORKERS"] = str(web)
        for item in args.env or []:
            k, _, v = item.partition("=")
            env[k] = v
        if args.whatif:  # tests/bench/whatif/sitecustomize.py, loaded by every process of the stack
            env["INNBYGGERPOST_BENCH_WHATIF"] = ",".join(args.whatif)
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(HERE / "whatif"), os.environ.get("PYTHONPATH")])
            )
        seed = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
        self.seed_persons = {p["id"] for p in seed.get("persons", [])}
        if args.population:
            lo, hi = POPULATION_RANGE
            seed["population"] = {"from": lo, "to": hi, "key": "bench", "mix": POPULATION_MIX}
            seed_path = self.workdir / "seed-population.json"
            seed_path.write_text(json.dumps(seed), encoding="utf-8")
            env.setdefault("INNBYGGERPOST_SIM_SEED", str(seed_path))
        if self.db == "postgresql":
            self.pg = Postgres(durable=True)
            url = self.pg.start()
        else:
            url = f"sqlite:///{self.workdir / 'innbyggerpost.db'}"
        self.database_url = url
        self.stack = BenchStack(self.db, url, self.workdir, env, args.log_level)
        self.stack.start()
        n_workers = args.workers if args.workers is not None else (2 if self.db == "postgresql" else 1)
        for _ in range(n_workers):
            self.stack.start_worker()
        stack = self.stack
        wait_until(
            lambda: stack.count("SELECT count(*) FROM worker_heartbeats") >= n_workers,
            self.bound(60),
            "delivery workers' first heartbeat",
            0.2,
        )
        self.web_master = stack.procs[1].pid
        time.sleep(0.5)
        wait_until(lambda: children(self.web_master), self.bound(30), "gunicorn workers")
        self.results["stack"] = {
            "web_processes": len(children(self.web_master)),
            "delivery_workers": n_workers,
            "database": "SQLite file" if self.db == "sqlite" else "PostgreSQL 15 (fsync on)",
            "started_in_s": round(time.monotonic() - t, 1),
        }
        if args.profile:
            profdir = args.outdir / f"pyspy-{args.stamp}-{self.db}"
            profdir.mkdir(parents=True, exist_ok=True)
            self.profiler = Profiler(profdir, args.profile_rate)
            self.profiler.start("web", self.web_master, subprocesses=True)
            for i, p in enumerate(stack.workers):
                self.profiler.start(f"worker{i + 1}", p.pid)
            self.profiler.start("simulators", stack.procs[0].pid)
            self.results["profile_dir"] = str(profdir)
        self.envelopes = Envelopes(stack.basic_url)
        log(
            f"{self.db}: stack up in {time.monotonic() - t:.1f}s: web {stack.url} "
            f"({self.results['stack']['web_processes']} processes), {n_workers} delivery worker(s), "
            f"simulators {stack.sim_url}; workdir {self.workdir}"
        )

    def stop(self) -> None:
        if self.profiler is not None:
            try:
                self.results["profile"] = self.profiler.stop()
            except Exception as exc:  # noqa: BLE001 - report and go on stopping
                print(f"profile: {exc}", file=sys.stderr)
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
            log(f"{self.db}: logs and data kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def web_workers(self) -> list[int]:
        return children(self.web_master)

    def web_cpu(self) -> float:
        return sum(cpu_s(p) for p in self.web_workers())

    def sim_stats(self) -> dict[str, Any]:
        assert self.stack is not None
        with urllib.request.urlopen(self.stack.sim_url + "/_sim/stats", timeout=30) as r:
            stats: dict[str, Any] = json.loads(r.read())
            return stats

    # -- 1. inserts with wrk -------------------------------------------------------------------
    def wrk(self, name: str, corr: dict[str, Any], connections: int) -> dict[str, Any]:
        assert self.stack is not None
        url = self.stack.basic_url
        pieces, tokens = self.envelopes.insert(corr)
        tdir = self.workdir / f"wrk-{name}"
        tdir.mkdir(exist_ok=True)
        for i, piece in enumerate(pieces):
            (tdir / f"piece{i}").write_bytes(piece)
        wrk = shutil.which("wrk")
        if not wrk:
            raise SystemExit("wrk is missing: run `make system-deps` (apt-get install wrk)")

        def run_wrk(tag: str, secs: float) -> dict[str, Any]:
            env = {
                **os.environ,
                "BENCH_DIR": str(tdir),
                "BENCH_TOKENS": ",".join(tokens),
                "BENCH_PREFIX": f"{name}-{tag}-{self.run_id}",
                "BENCH_RUN_NUMBER": str(int(self.run_id, 16) % 2**31),
                "BENCH_SOAPACTION": self.envelopes.insert_action,
            }
            # one wrk thread per connection: insert.lua knows which request a busy fault refused
            # and retries it on its connection after Retry-After (see insert.lua)
            threads = max(1, connections)
            argv = [wrk or "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(secs))}s"]
            argv += ["--timeout", "30s", "-s", str(HERE / "insert.lua"), url]
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
            try:
                out, _ = p.communicate(timeout=secs + 60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            text_out = out.decode(errors="replace")
            line = next((ln for ln in text_out.splitlines() if ln.startswith("BENCHJSON ")), None)
            if line is None:
                raise RuntimeError(f"wrk gave no result: {text_out[-2000:]}")
            result: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
            return result

        t_warm = self.bound(self.args.warmup_seconds)
        if t_warm >= 1:
            run_wrk("warm", t_warm)
        secs = self.bound(self.args.insert_seconds)
        cpu0, busy0 = self.web_cpu(), machine_busy_s()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = run_wrk("run", max(1.0, secs))
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu1, busy1 = self.web_cpu(), machine_busy_s()
        duration = res["duration_us"] / 1e6
        ok = res["ok"]
        envelope_bytes = sum(len(p) for p in pieces) + 60
        # A busy fault is answered before the body is read; gunicorn (>= 23) drains at most 64 KiB of
        # an unread body before it keeps a connection, so after refusing a larger request it closes
        # the connection with the rest unread, and wrk sees that as a read error (a reset) after the
        # answer: expected, one per busy fault at most, counted apart; any other is a failure.
        closed_after_busy = (
            min(res["errors_read"], res["busy"]) if envelope_bytes > GUNICORN_DRAIN_BYTES else 0
        )
        res["errors_read"] -= closed_after_busy
        bad_samples = [p.read_text(errors="replace")[:600] for p in sorted(tdir.glob("bad-*.txt"))]
        for p in tdir.glob("bad-*.txt"):
            p.unlink()
        out = {
            "connections": connections,
            "seconds": round(duration, 2),
            "ok": ok,
            "not_ok": res["bad"],
            # the admission bound's busy faults (retry-safe, Retry-After): retried with the same
            # reference by insert.lua, counted apart; left_busy: refused when the phase ended
            "busy_faults": res["busy"],
            "busy_retried": res["retried"],
            "busy_left_at_end": res["left_busy"],
            # wrk's "status" errors are the non-2xx answers, counted above as busy_faults or not_ok
            "socket_errors": {
                k[7:]: v for k, v in res.items() if k.startswith("errors_") and k != "errors_status" and v
            },
            "per_s": round(ok / duration, 1) if duration else None,
            "p50_ms": round(res["p50_us"] / 1000, 1) if ok else None,
            "p90_ms": round(res["p90_us"] / 1000, 1) if ok else None,
            "p99_ms": round(res["p99_us"] / 1000, 1) if ok else None,
            "max_ms": round(res["max_us"] / 1000, 1) if ok else None,
            "web_cpu_ms_per_insert": round((cpu1 - cpu0) * 1000 / ok, 2) if ok else None,
            "web_cpu_s": round(cpu1 - cpu0, 2),
            "wrk_cpu_s": round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, 2),
            "machine_busy_cpu_s": round(busy1 - busy0, 2),
            "machine_cpu_s_available": round(duration * (os.cpu_count() or 1), 2),
            "connections_closed_after_busy": closed_after_busy,
            "bad_sample": bad_samples[0] if bad_samples else None,
            "envelope_bytes": envelope_bytes,
        }
        log(
            f"{self.db}: inserts {name}: {out['per_s']}/s ({ok} OK, {out['busy_faults']} busy faults, "
            f"{out['not_ok']} not OK) "
            f"p50 {out['p50_ms']} p99 {out['p99_ms']} max {out['max_ms']} ms; "
            f"web CPU {out['web_cpu_ms_per_insert']} ms/letter; wrk CPU {out['wrk_cpu_s']} s"
        )
        self.count_busy(out["busy_faults"])
        if out["not_ok"] or out["socket_errors"]:
            self.failures.append(f"inserts {name}: {out['not_ok']} not OK, errors {out['socket_errors']}")
            if out["bad_sample"]:
                log(f"{self.db}: first bad answer: {out['bad_sample'][:400]!r}")
        return out

    def count_busy(self, n: int) -> None:
        self.figures["busy_faults"] = (self.figures["busy_faults"] or 0) + n

    def insert_phases(self) -> None:
        c = self.args.connections
        self.results["insert_sdp"] = r = self.wrk("sdp", a.letter(a.DIGIPOST, a.sdp("ForwardOnly", True)), c)
        self.figures.update(
            insert_per_s=r["per_s"],
            insert_p50_ms=r["p50_ms"],
            insert_p99_ms=r["p99_ms"],
            web_cpu_ms_per_insert=r["web_cpu_ms_per_insert"],
        )
        self.results["insert_no_sdp"] = self.wrk("nosdp", a.letter(a.DIGIPOST, None), c)
        r1 = self.results["insert_1mb"] = self.wrk("1mb", big_letter(1024 * 1024), c)
        self.figures["insert_1mb_per_s"] = r1["per_s"]

    # -- 2. the floor --------------------------------------------------------------------------
    def floor(self) -> None:
        """lxml parse + serialise of the same envelope, plus one INSERT + commit; one thread."""
        pieces, tokens = self.envelopes.insert(a.letter(a.DIGIPOST, a.sdp("ForwardOnly", True)))
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        ns = {
            "c": "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10",
            "s": "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10",
            "r": "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2010/10",
        }
        fields = {
            name: etree.XPath(path, namespaces=ns)
            for name, path in (
                ("reference", "string(//c:ExternalShipmentReference)"),
                ("reportee", "string(//s:Reportee)"),
                ("service_code", "string(//s:ServiceCode)"),
                ("title", "string(//s:MessageTitle)"),
                ("summary", "string(//s:MessageSummary)"),
                ("body", "string(//s:MessageBody)"),
                ("data", "string(//r:Data)"),
            )
        }
        ddl = (
            "CREATE TABLE floor_letters (id {pk}, reference VARCHAR(100) UNIQUE, reportee VARCHAR(20), "
            "service_code VARCHAR(20), title TEXT, summary TEXT, body TEXT, document {blob}, "
            "envelope {blob}, created_at VARCHAR(40))"
        )
        insert = (
            "INSERT INTO floor_letters (reference, reportee, service_code, title, summary, body, "
            "document, envelope, created_at) VALUES ({p})"
        )
        if self.db == "sqlite":
            conn: Any = sqlite3.connect(self.workdir / "floor.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(ddl.format(pk="INTEGER PRIMARY KEY", blob="BLOB"))
            sql = insert.format(p=", ".join("?" * 9))

            def store(values: tuple[Any, ...]) -> None:
                conn.execute("BEGIN")
                conn.execute(sql, values)
                conn.execute("COMMIT")

            durability = "SQLite WAL, synchronous=FULL"
        else:
            import psycopg

            conn = psycopg.connect(self.database_url.replace("postgresql+psycopg://", "postgresql://"))
            conn.execute(ddl.format(pk="BIGSERIAL PRIMARY KEY", blob="BYTEA"))
            conn.commit()
            setting = conn.execute("SHOW synchronous_commit").fetchone()[0]
            fsync = conn.execute("SHOW fsync").fetchone()[0]
            sql = insert.format(p=", ".join(["%s"] * 9))

            def store(values: tuple[Any, ...]) -> None:
                conn.execute(sql, values)
                conn.commit()

            durability = f"PostgreSQL synchronous_commit={setting}, fsync={fsync}"
        secs = self.bound(self.args.floor_seconds)
        n = 0
        t0 = time.perf_counter()
        c0 = time.process_time()
        while True:
            envelope = join(pieces, tokens, f"floor-{self.run_id}-{n}")
            root = etree.fromstring(envelope, parser)
            out = etree.tostring(root, xml_declaration=True, encoding="utf-8")
            v = {k: f(root) for k, f in fields.items()}
            store(
                (
                    v["reference"],
                    v["reportee"],
                    v["service_code"],
                    v["title"],
                    v["summary"],
                    v["body"],
                    base64.b64decode(v["data"]),
                    out,
                    dt.datetime.now(dt.UTC).isoformat(),
                )
            )
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= secs and n >= 20:
                break
        cpu = time.process_time() - c0
        conn.close()
        per_s = n / elapsed
        self.results["floor"] = {
            "letters": n,
            "seconds": round(elapsed, 2),
            "per_s": round(per_s, 1),
            "cpu_ms_per_letter": round(cpu * 1000 / n, 3),
            # what one core could do if the commit did not wait for the disk (fsync)
            "cpu_bound_per_s": round(n / cpu, 1) if cpu > 0 else None,
            "durability": durability,
        }
        self.figures["floor_per_s"] = round(per_s, 1)
        self.figures["floor_cpu_ms_per_letter"] = round(cpu * 1000 / n, 3)
        if self.figures["web_cpu_ms_per_insert"] and cpu > 0:
            self.figures["web_cpu_floor_ratio"] = round(
                self.figures["web_cpu_ms_per_insert"] / (cpu * 1000 / n), 2
            )
        if self.figures["insert_per_s"]:
            self.figures["floor_ratio"] = round(self.figures["insert_per_s"] / (per_s * 2), 4)
        log(
            f"{self.db}: floor: {per_s:.0f} letters/s on one thread (lxml parse+serialise, one INSERT + "
            f"commit; {durability}; {cpu * 1000 / n:.3f} ms CPU each); floor_ratio {self.figures['floor_ratio']}; "
            f"web CPU per insert / floor CPU {self.figures['web_cpu_floor_ratio']}"
        )

    # -- drain: let the letters of the insert phases be delivered first --------------------------
    def drain(self, seconds: float) -> None:
        assert self.stack is not None
        t0 = time.monotonic()
        pending = -1
        while time.monotonic() - t0 < self.bound(seconds):
            pending = self.stack.count(
                "SELECT count(*) FROM forwardings WHERE status NOT IN "
                "('Delivered_EndUser','Delivery_EndUser_Failed','NoMailBox','Reserved')"
            )
            if pending == 0:
                break
            time.sleep(1.0)
        self.results["drain"] = {"seconds": round(time.monotonic() - t0, 1), "pending_left": pending}
        if pending:
            log(f"{self.db}: {pending} forwardings of the insert phases still pending after {seconds:.0f}s")
        else:
            log(f"{self.db}: insert-phase letters delivered ({time.monotonic() - t0:.1f}s)")

    # -- 3. the mass mailing -------------------------------------------------------------------
    def mass(self) -> None:
        assert self.stack is not None
        args = self.args
        counts = allocate(args.letters, MIX)
        kinds = {k: (r, s) for k, r, s, _ in MIX}
        # Distinct citizens (issue 17): the letters of the ordinary kinds go each to its own citizen
        # of the simulators' synthetic population (its own mix of Digipost, e-Boks, no postbox,
        # reserved, not registered); the seed's behaviour persons (rejects, fails twice, deleted) stay.
        to_citizen = {k: args.population and r not in SEED_BEHAVIOUR_PERSONS for k, (r, _) in kinds.items()}
        templates = {
            k: self.envelopes.insert(a.letter(RPT_TOKEN if to_citizen[k] else r, s))
            for k, (r, s) in kinds.items()
        }
        has_sdp = {k: s is not None for k, (_, s) in kinds.items()}
        plan = [k for k, n in counts.items() for _ in range(n)]
        random.Random(args.seed).shuffle(plan)
        citizens = iter(population_ids(len(plan), *POPULATION_RANGE, exclude=self.seed_persons))
        reportees = [next(citizens) if to_citizen[k] else kinds[k][0] for k in plan]
        self.mass_citizens = len({r for k, r in zip(plan, reportees, strict=True) if to_citizen[k]})
        prefix = f"mass-{self.run_id}-"
        stats0 = self.sim_stats()
        t_budget = self.bound(args.mass_timeout)
        t_first = time.monotonic()
        mass_deadline = t_first + t_budget
        url = urlsplit(self.stack.basic_url)
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{self.envelopes.insert_action}"',
        }
        nxt = itertools.count()
        status: list[str | None] = [None] * len(plan)
        errors: Counter[str] = Counter()
        busy = Counter[str]()  # busy faults (retried after Retry-After), letters left busy at the bound
        lock = threading.Lock()

        def client() -> None:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            i = -1
            while not self.stopping.is_set() and time.monotonic() < mass_deadline:
                if i < 0 or status[i] != "busy":  # after a busy fault: the same letter again
                    i = next(nxt)
                if i >= len(plan):
                    break
                pieces, tokens = templates[plan[i]]
                body = join(pieces, tokens, f"{prefix}{i:07d}", reportees[i])
                try:
                    conn.request("POST", url.path, body, headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    m = _STATUS.search(data)
                    retry_after = resp.getheader("Retry-After")
                    if resp.status in (500, 503) and retry_after is not None:
                        # the admission bound's busy fault: nothing stored; retry with the same reference
                        status[i] = "busy"
                        with lock:
                            busy["faults"] += 1
                        wait = float(retry_after) if retry_after.isdigit() else 1.0
                        self.stopping.wait(max(0.0, min(wait, mass_deadline - time.monotonic())))
                        continue
                    status[i] = m.group(1).decode() if (resp.status == 200 and m) else f"HTTP {resp.status}"
                    if status[i] not in RECEIPTS:
                        with lock:
                            errors[f"{status[i]}: {data[:200]!r}"] += 1
                except (OSError, http.client.HTTPException) as exc:
                    status[i] = "error"
                    with lock:
                        errors[f"{type(exc).__name__}: {exc}"] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            conn.close()

        cpu_bench0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_web0 = self.web_cpu()
        cpu_workers0 = sum(cpu_s(p.pid) for p in self.stack.workers)
        cpu_sim0 = cpu_s(self.stack.procs[0].pid)
        busy0 = machine_busy_s()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.connections)]
        for t in threads:
            t.start()
        log(
            f"{self.db}: mass mailing: {len(plan)} letters from {len(threads)} connections, bound {t_budget:.0f}s"
        )
        last = time.monotonic()
        by_status: dict[str, int] = {}
        t_inserted = None
        n_fwd_expected = sum(counts[k] for k in counts if has_sdp[k])
        pending = n_fwd_expected
        while True:
            alive = any(t.is_alive() for t in threads)
            if not alive and t_inserted is None:
                t_inserted = time.monotonic()
            with self.stack.engine.connect() as c:
                by_status = {
                    s: int(n)
                    for s, n in c.execute(
                        text(
                            "SELECT status, count(*) FROM forwardings WHERE external_shipment_reference "
                            "LIKE :p GROUP BY status"
                        ),
                        {"p": prefix + "%"},
                    ).all()
                }
            n_final = sum(n for s, n in by_status.items() if s in FINAL)
            sent_ok = sum(1 for s in status if s == "OK")
            ok_sdp = (
                sum(1 for i, s in enumerate(status) if s == "OK" and has_sdp[plan[i]]) if not alive else None
            )
            if not alive and ok_sdp is not None and n_final >= ok_sdp:
                pending = 0
                break
            now = time.monotonic()
            if now >= mass_deadline or self.stopping.is_set():
                pending = (ok_sdp if ok_sdp is not None else n_fwd_expected) - n_final
                break
            if now - last >= 10:
                last = now
                log(
                    f"{self.db}: mass after {now - t_first:.0f}s: {sent_ok} OK receipts, "
                    f"{n_final} forwardings final, {dict(sorted(by_status.items()))}"
                )
            time.sleep(1.0 if alive else 0.5)
        t_end = time.monotonic()
        for t in threads:
            t.join(70)
        cpu_bench1 = resource.getrusage(resource.RUSAGE_SELF)
        # CPU seconds of each role over the mailing phase (first insert until every forwarding is final)
        cpu = {
            "web": self.web_cpu() - cpu_web0,
            "delivery_workers": sum(cpu_s(p.pid) for p in self.stack.workers) - cpu_workers0,
            "simulators": cpu_s(self.stack.procs[0].pid) - cpu_sim0,
            "bench_client": cpu_bench1.ru_utime
            + cpu_bench1.ru_stime
            - cpu_bench0.ru_utime
            - cpu_bench0.ru_stime,
            "machine_busy": machine_busy_s() - busy0,
        }
        cpu["other_processes"] = cpu["machine_busy"] - sum(v for k, v in cpu.items() if k != "machine_busy")
        complete = pending == 0 and all(s is not None and s != "busy" for s in status)
        busy["left_at_end"] = sum(1 for s in status if s == "busy")
        self.check_mass(
            prefix, plan, status, has_sdp, stats0, t_first, t_end, t_inserted, complete, cpu, errors, busy
        )

    def check_mass(
        self,
        prefix: str,
        plan: list[str],
        status: list[str | None],
        has_sdp: dict[str, bool],
        stats0: dict[str, Any],
        t_first: float,
        t_end: float,
        t_inserted: float | None,
        complete: bool,
        cpu: dict[str, float],
        errors: Counter[str],
        busy: Counter[str],
    ) -> None:
        assert self.stack is not None
        ok_refs = {f"{prefix}{i:07d}" for i, s in enumerate(status) if s == "OK"}
        # The database first, the vendor's counters after: a letter the database calls delivered was
        # delivered at the vendor before (its receipt says so), so while deliveries still run (an
        # incomplete mailing) a letter delivered between the two reads is not miscounted as lost.
        with self.stack.engine.connect() as c:
            stored = {
                r[0]
                for r in c.execute(
                    text(
                        "SELECT external_shipment_reference FROM correspondences WHERE external_shipment_reference LIKE :p"
                    ),
                    {"p": prefix + "%"},
                )
            }
            fwd = c.execute(
                text(
                    "SELECT external_shipment_reference, status, message_id, vendor_orgnr FROM forwardings "
                    "WHERE external_shipment_reference LIKE :p"
                ),
                {"p": prefix + "%"},
            ).all()
        stats1 = self.sim_stats()
        delivered: dict[str, int] = {}
        vendor_sends: dict[str, int] = {}
        before = stats0["dpi"]["vendors"]
        for orgnr, v in stats1["dpi"]["vendors"].items():
            b = before.get(orgnr, {"sends": 0, "delivered": {}, "duplicates": 0})
            vendor_sends[orgnr] = v["sends"] - b["sends"]
            for mid, n in v["delivered"].items():
                n_new = n - b["delivered"].get(mid, 0)
                if n_new:
                    delivered[mid] = delivered.get(mid, 0) + n_new
        by_ref: dict[str, list[tuple[str, str | None]]] = {}
        for ref, st, mid, _vendor in fwd:
            by_ref.setdefault(ref, []).append((st, mid))
        # lost: an OK receipt without the letter stored, a forwarding the service calls delivered that
        # the vendor never got, a letter with SdpOptions stored without a forwarding
        not_stored = len(ok_refs - stored)
        delivered_not_at_vendor = sum(
            1
            for st, mid in (x for v in by_ref.values() for x in v)
            if st == "Delivered_EndUser" and not delivered.get(mid or "")
        )
        sdp_refs = {f"{prefix}{i:07d}" for i, s in enumerate(status) if s == "OK" and has_sdp[plan[i]]}
        no_forwarding = len(sdp_refs - set(by_ref))
        lost = not_stored + delivered_not_at_vendor + no_forwarding
        # delivered twice: a message id the vendor delivered more than once, or a letter with more
        # than one delivered message
        mids_of_ref = {ref: [mid for _, mid in v if mid] for ref, v in by_ref.items()}
        twice_mid = sum(1 for n in delivered.values() if n > 1)
        twice_ref = sum(1 for mids in mids_of_ref.values() if sum(1 for m in mids if delivered.get(m)) > 1)
        known_mids = {m for mids in mids_of_ref.values() for m in mids}
        unknown_deliveries = sum(1 for m in delivered if m not in known_mids)
        delivered_twice = twice_mid + twice_ref
        final = Counter(st for ref_f in by_ref.values() for st, _ in ref_f)
        n_not_final = sum(n for s, n in final.items() if s not in FINAL)
        letters_ok = len(ok_refs)
        letters_final = letters_ok - sum(
            1 for ref, v in by_ref.items() if ref in ok_refs and any(st not in FINAL for st, _ in v)
        )
        elapsed = t_end - t_first
        k0, k1 = stats0["krr"], stats1["krr"]
        krr_calls = k1["calls"] - k0["calls"]
        krr_ids = sum(k1["batch_sizes"][len(k0["batch_sizes"]) :])
        http0, http1 = stats0.get("http", {}), stats1.get("http", {})
        conns = {
            "accepted": http1.get("connections_accepted", 0) - http0.get("connections_accepted", 0),
            "requests": {
                area: n - http0.get("requests", {}).get(area, 0)
                for area, n in http1.get("requests", {}).items()
            },
        }
        receipts = Counter(s or "not sent" for s in status)
        self.results["mass"] = {
            "letters_planned": len(plan),
            "receipts": dict(receipts),
            "receipts_by_kind": {
                k: dict(Counter(status[i] or "not sent" for i in range(len(plan)) if plan[i] == k))
                for k in dict.fromkeys(plan)
            },
            "receipt_errors": dict(errors.most_common(5)),
            "complete": complete,
            "seconds": round(elapsed, 1),
            "insert_seconds": round((t_inserted or t_end) - t_first, 1),
            "insert_per_s": round(letters_ok / ((t_inserted or t_end) - t_first), 1),
            "letters_ok": letters_ok,
            "letters_final": letters_final,
            "letters_final_per_s": round(letters_final / elapsed, 1) if elapsed else None,
            "forwardings": len(fwd),
            "forwardings_by_status": dict(final),
            "forwardings_not_final": n_not_final,
            "krr_calls": krr_calls,
            "krr_ids": krr_ids,
            "distinct_citizens": getattr(self, "mass_citizens", 0),
            "krr_calls_per_letter": round(krr_calls / letters_ok, 4) if letters_ok else None,
            "krr_max_batch": max(k1["batch_sizes"][len(k0["batch_sizes"]) :], default=0),
            # krr_ids counts the ids of each call, which the service de-duplicates: with the seed's
            # few persons a batch holds at most a dozen ids, so letters per call says more
            "krr_sdp_letters_per_call": round(len(sdp_refs) / krr_calls, 2) if krr_calls else None,
            "vendor_sends": vendor_sends,
            "vendor_delivered_messages": len(delivered),
            "lost": {
                "ok_receipt_not_stored": not_stored,
                "delivered_in_db_not_at_vendor": delivered_not_at_vendor,
                "sdp_letter_without_forwarding": no_forwarding,
            },
            "delivered_twice": {"message_id_twice": twice_mid, "letter_two_messages": twice_ref},
            "vendor_deliveries_unknown_to_db": unknown_deliveries,
            "simulator_http": conns,
            "busy_faults": busy["faults"],
            "busy_left_at_end": busy["left_at_end"],
            "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
            "cpu_ms_per_letter": {
                k: round(1000 * v / letters_ok, 3) if letters_ok else None for k, v in cpu.items()
            },
        }
        self.figures.update(
            mass_letters=letters_ok,
            mass_letters_per_s=round(letters_final / elapsed, 1) if elapsed else None,
            krr_calls=krr_calls,
            krr_ids=krr_ids,
            lost=lost,
            delivered_twice=delivered_twice,
            mass_delivery_failed=final.get("Delivery_EndUser_Failed", 0),
            # innbyggerpost's CPU per letter end to end: web + delivery workers over the mailing
            # (inserts, KRR, DPI signing/encryption, sends, receipts), the simulators not included
            letter_cpu_ms=(
                round(1000 * (cpu["web"] + cpu["delivery_workers"]) / letters_ok, 2) if letters_ok else None
            ),
            simulators_cpu_ms_per_letter=round(1000 * cpu["simulators"] / letters_ok, 2)
            if letters_ok
            else None,
        )
        self.mass_refs = sorted(ok_refs)
        self.count_busy(busy["faults"])
        log(
            f"{self.db}: mass mailing {'complete' if complete else 'INCOMPLETE'}: {letters_ok}/{len(plan)} OK "
            f"receipts, {letters_final} letters final in {elapsed:.1f}s = {self.figures['mass_letters_per_s']} "
            f"letters/s; KRR {krr_calls} calls for {krr_ids} ids; vendor sends {vendor_sends}; "
            f"lost {lost}, delivered twice {delivered_twice}; delivery failed "
            f"{final.get('Delivery_EndUser_Failed', 0)}; busy faults {busy['faults']}; "
            f"CPU s {self.results['mass']['cpu_s']}; innbyggerpost CPU {self.figures['letter_cpu_ms']} ms/letter"
        )
        if not complete:
            self.failures.append(
                f"mass mailing incomplete after {elapsed:.0f}s (bound --mass-timeout {self.args.mass_timeout:.0f}s): "
                f"{letters_ok}/{len(plan)} OK receipts, {n_not_final} forwardings not final"
            )
        broken = {s: n for s, n in receipts.items() if s not in RECEIPTS and s not in ("not sent", "busy")}
        if broken:  # receipts of the service (Rejected is the answer to some kinds of the mix) are fine
            self.failures.append(
                f"mass mailing: answers other than receipts: {broken} {dict(errors.most_common(3))}"
            )
        if lost or delivered_twice or unknown_deliveries:
            self.failures.append(
                f"mass mailing: lost {lost} {self.results['mass']['lost']}, delivered twice {delivered_twice}, "
                f"vendor deliveries unknown to the DB {unknown_deliveries}"
            )

    # -- 4. status at scale --------------------------------------------------------------------
    def post(self, body: bytes, action: str, timeout: float) -> tuple[float, int, bytes]:
        assert self.stack is not None
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        t0 = time.perf_counter()
        r = requests.post(self.stack.basic_url, data=body, headers=headers, timeout=timeout)
        return (time.perf_counter() - t0) * 1000, r.status_code, r.content

    def status_queries(self) -> None:
        refs = getattr(self, "mass_refs", [])[:10000]
        out: dict[str, Any] = {}
        if refs:
            body = self.envelopes.history(refs)
            times = []
            for _ in range(self.args.status_repeats):
                if self.remaining() < 30:
                    break
                ms, code, content = self.post(body, self.envelopes.history_action, self.bound(120))
                times.append(ms)
                out["history_http_status"] = code
                out["history_answer_bytes"] = len(content)
                out["history_entries"] = len(
                    re.findall(rb"<(?:\w+:)?(?:StatusV2|SdpStatusDetails)>", content)
                )
                answered = set(re.findall(rb">(mass-[0-9a-f]+-[0-9]+)<", content))
                out["history_references_answered"] = len(answered)
                out["history_answer_head"] = content[:1500].decode(errors="replace")
                if code != 200:
                    self.failures.append(
                        f"GetCorrespondenceStatusHistoryBasic: HTTP {code}: {content[:300]!r}"
                    )
                    break
            out["history_references"] = len(refs)
            out["history_ms"] = [round(t, 1) for t in times]
            if times and out.get("history_http_status") == 200:
                self.figures["status_history_10k_ms"] = round(statistics.median(times), 1)
        body = self.envelopes.v3(a.DIGIPOST)
        times = []
        for _ in range(self.args.status_repeats):
            if self.remaining() < 30:
                break
            ms, code, content = self.post(body, self.envelopes.v3_action, self.bound(120))
            times.append(ms)
            out["v3_http_status"] = code
            out["v3_answer_bytes"] = len(content)
            out["v3_sdp_details"] = len(re.findall(rb"<(?:\w+:)?SdpStatusDetails>", content))
            out["v3_answer_head"] = content[:1500].decode(errors="replace")
            if code != 200:
                self.failures.append(f"GetCorrespondenceStatusDetailsBasicV3: HTTP {code}: {content[:300]!r}")
                break
        out["v3_reportee"] = a.DIGIPOST
        out["v3_ms"] = [round(t, 1) for t in times]
        if times and out.get("v3_http_status") == 200:
            self.figures["status_v3_ms"] = round(statistics.median(times), 1)
        self.results["status"] = out
        log(
            f"{self.db}: status: history of {len(refs)} references {out.get('history_ms')} ms "
            f"({out.get('history_references_answered')} references answered); V3 for reportee {a.DIGIPOST} {out['v3_ms']} ms "
            f"({out.get('v3_sdp_details')} SdpStatusDetails)"
        )

    # -- 5. memory -----------------------------------------------------------------------------
    def burst_1mb(self, n: int = 32) -> None:
        """32 letters of 1 MB at once (issue 17: a web process must stay under 150 MB). The web
        processes' peak RSS (VmHWM) is reset first, so ``web_rss_mb`` (read by :meth:`memory`
        right after) is the burst's peak; the whole run's peak is kept in ``memory_mb``."""
        assert self.stack is not None
        web = self.web_workers()
        self.results["memory_mb_before_burst"] = {"web_workers_vmhwm": [round(vm_hwm_mb(p), 1) for p in web]}
        for pid in web:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak RSS
            except OSError:
                pass
        pieces, tokens = self.envelopes.insert(big_letter(1024 * 1024))
        bodies = [join(pieces, tokens, f"burst-{self.run_id}-{i}") for i in range(n)]
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{self.envelopes.insert_action}"',
        }
        start = threading.Barrier(n)
        answers: list[str] = ["not sent"] * n

        def send(i: int) -> None:
            start.wait(30)
            try:
                r = requests.post(
                    self.stack.basic_url, data=bodies[i], headers=headers, timeout=self.bound(120)
                )
                m = _STATUS.search(r.content)
                busy = b"busy" in r.content and r.status_code != 200
                answers[i] = m.group(1).decode() if m else ("busy" if busy else f"HTTP {r.status_code}")
            except requests.RequestException as exc:
                answers[i] = type(exc).__name__

        threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(130)
        out = {
            "letters": n,
            "body_bytes": len(bodies[0]),
            "answers": dict(Counter(answers)),
            "web_workers_vmhwm": [round(vm_hwm_mb(p), 1) for p in web],
        }
        self.results["burst_1mb"] = out
        log(
            f"{self.db}: {n} letters of 1 MB at once: {out['answers']}; web peak RSS {out['web_workers_vmhwm']} MB"
        )

    def memory(self) -> None:
        assert self.stack is not None
        web = [vm_hwm_mb(p) for p in self.web_workers()]
        workers = [vm_hwm_mb(p.pid) for p in self.stack.workers]
        sim = vm_hwm_mb(self.stack.procs[0].pid)
        self.results["memory_mb"] = {
            "web_workers_vmhwm": [round(x, 1) for x in web],
            "delivery_workers_vmhwm": [round(x, 1) for x in workers],
            "simulators_vmhwm": round(sim, 1),
            "bench_client_maxrss": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        self.figures["web_rss_mb"] = round(max(web), 1) if web else None
        self.figures["worker_rss_mb"] = round(max(workers), 1) if workers else None

    def dpi_crypto(self) -> None:
        """CPU per letter of what the delivery worker does to a DPI letter before sending it: the
        ASiC-E package with its XAdES signature, the CMS encryption to the postbox certificate and the
        JWS of the business message (in this process, the mass mailing's letter: a PDF and a text
        attachment), with the stack's test certificates."""
        from clients.dpi import Digital, LetterBuilder, PackageDocument
        from simulators.pki import TestPki

        assert self.stack is not None
        pki = TestPki(self.stack.pki_dir)
        sender = pki.enterprise("910646192")
        builder = LetterBuilder(sender.certificate, sender.private_key, sender.chain)
        postbox = pki.postbox("984661185").certificate
        primary = PackageDocument("brev.pdf", "Brev", "application/pdf", a.PDF)
        extra = [PackageDocument("vedlegg.txt", "Vedlegg", "text/plain", b"hei")]
        digital = Digital("910646192", "984661185", "ola.nordmann#1A2B", "Brev")
        builder.build(digital, "warm-up", primary, extra, postbox, "token", dt.datetime.now(dt.UTC))
        n = 200
        c0 = time.process_time()
        for i in range(n):
            builder.build(digital, f"m-{i}", primary, extra, postbox, "token", dt.datetime.now(dt.UTC))
        ms = (time.process_time() - c0) * 1000 / n
        self.results["dpi_crypto"] = {"letters": n, "cpu_ms_per_letter": round(ms, 3)}
        self.figures["dpi_sign_encrypt_cpu_ms"] = round(ms, 2)
        log(f"{self.db}: DPI letter (XAdES + CMS + JWS): {ms:.2f} ms CPU each")

    def run(self) -> None:
        try:
            self.start()
            self.insert_phases()
            self.floor()
            self.dpi_crypto()
            self.drain(self.args.drain_timeout)
            self.mass()
            self.status_queries()
            self.burst_1mb()
            self.memory()
        finally:
            if self.stack is not None and self.stack.procs:
                try:
                    self.memory()
                except Exception:  # noqa: BLE001 - best effort on the way out
                    pass
            self.stop()


# ---------------------------------------------------------------------------------------------------
# report


def print_table(runs: list[Run]) -> None:
    cols = [r.db for r in runs]
    print("\n================ innbyggerpost benchmark ================")
    for r in runs:
        s = r.results.get("stack", {})
        print(
            f"{r.db}: {s.get('web_processes')} web processes, {s.get('delivery_workers')} delivery worker(s), "
            f"{s.get('database')}"
        )
    rows = [
        ("inserts with SdpOptions /s", "insert_per_s"),
        ("  p50 ms", "insert_p50_ms"),
        ("  p99 ms", "insert_p99_ms"),
        ("  web CPU ms / letter", "web_cpu_ms_per_insert"),
        ("floor /s (one core)", "floor_per_s"),
        ("floor_ratio", "floor_ratio"),
        ("DPI sign+encrypt CPU ms / letter", "dpi_sign_encrypt_cpu_ms"),
        ("inserts, 1 MB attachment /s", "insert_1mb_per_s"),
        ("mass mailing letters", "mass_letters"),
        ("  letters/s, first insert -> all final", "mass_letters_per_s"),
        ("  KRR calls", "krr_calls"),
        ("  KRR ids", "krr_ids"),
        (
            "  distinct citizens (synthetic population)",
            lambda r: r.results.get("mass", {}).get("distinct_citizens"),
        ),
        ("  KRR calls per letter", lambda r: r.results.get("mass", {}).get("krr_calls_per_letter")),
        ("  lost", "lost"),
        ("  delivered twice", "delivered_twice"),
        ("status history, 10 000 refs, ms", "status_history_10k_ms"),
        ("status V3, one reportee, ms", "status_v3_ms"),
        ("web worker peak RSS MB (32 letters of 1 MB at once)", "web_rss_mb"),
        ("delivery worker peak RSS MB", "worker_rss_mb"),
        ("innbyggerpost CPU ms / letter (web+worker)", "letter_cpu_ms"),
        ("simulators CPU ms / letter", "simulators_cpu_ms_per_letter"),
        ("floor CPU ms / letter", "floor_cpu_ms_per_letter"),
        ("web CPU per insert / floor CPU", "web_cpu_floor_ratio"),
        ("busy faults (retried)", "busy_faults"),
    ]
    print(f"{'':42s}" + "".join(f"{c:>14s}" for c in cols))
    for label, key in rows:
        print(f"{label:42s}" + "".join(f"{_fmt(r.figures.get(key)):>14s}" for r in runs))
    extra = [
        ("inserts without SdpOptions /s", lambda r: r.results.get("insert_no_sdp", {}).get("per_s")),
        ("  p99 ms", lambda r: r.results.get("insert_no_sdp", {}).get("p99_ms")),
        ("inserts with SdpOptions, max ms", lambda r: r.results.get("insert_sdp", {}).get("max_ms")),
        (
            "busy faults: SdpOptions / none / 1 MB / mass",
            lambda r: " / ".join(
                str(r.results.get(k, {}).get("busy_faults", "-"))
                for k in ("insert_sdp", "insert_no_sdp", "insert_1mb", "mass")
            ),
        ),
        ("1 MB inserts p99 ms", lambda r: r.results.get("insert_1mb", {}).get("p99_ms")),
        ("mass: insert phase letters/s", lambda r: r.results.get("mass", {}).get("insert_per_s")),
        (
            "mass: letters with SdpOptions per KRR call",
            lambda r: r.results.get("mass", {}).get("krr_sdp_letters_per_call"),
        ),
        ("mass: vendor sends", lambda r: sum(r.results.get("mass", {}).get("vendor_sends", {}).values())),
        ("mass: CPU s web", lambda r: r.results.get("mass", {}).get("cpu_s", {}).get("web")),
        (
            "mass: CPU s delivery workers",
            lambda r: r.results.get("mass", {}).get("cpu_s", {}).get("delivery_workers"),
        ),
        (
            "mass: delivery workers CPU ms / letter",
            lambda r: (
                1000
                * r.results["mass"]["cpu_s"]["delivery_workers"]
                / max(1, r.results["mass"]["letters_ok"])
            ),
        ),
        ("mass: CPU s simulators", lambda r: r.results.get("mass", {}).get("cpu_s", {}).get("simulators")),
        (
            "mass: simulators CPU ms / letter",
            lambda r: (
                1000 * r.results["mass"]["cpu_s"]["simulators"] / max(1, r.results["mass"]["letters_ok"])
            ),
        ),
        (
            "mass: CPU s bench client",
            lambda r: r.results.get("mass", {}).get("cpu_s", {}).get("bench_client"),
        ),
        (
            "mass: CPU s other processes",
            lambda r: r.results.get("mass", {}).get("cpu_s", {}).get("other_processes"),
        ),
    ]
    for label, fn in extra:
        vals = []
        for r in runs:
            try:
                vals.append(fn(r))
            except (AttributeError, TypeError, KeyError):
                vals.append(None)
        print(f"{label:42s}" + "".join(f"{_fmt(v):>14s}" for v in vals))
    for r in runs:
        for name, prof in (r.results.get("profile") or {}).items():
            print(f"\npy-spy {r.db} {name}: {prof['samples']} samples ({prof['file']}, flame graph .svg)")
            for f, x in prof["self_top"][:12]:
                print(f"   self {x:5.1f}%  {f}")
        for f in r.failures:
            print(f"FAILED ({r.db}): {f}")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--db",
        choices=["sqlite", "postgresql", "postgres", "both"],
        default="both",
        help="postgres is postgresql",
    )
    p.add_argument("--letters", type=int, help="letters of the mass mailing (default 100000; --quick 2000)")
    p.add_argument("--quick", action="store_true", help="a short run: 2000 letters, 5 s per insert phase")
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive client connections")
    p.add_argument("--insert-seconds", type=float, help="seconds per insert phase (default 20; --quick 5)")
    p.add_argument(
        "--warmup-seconds", type=float, help="warm-up before each insert phase (default 3; --quick 1)"
    )
    p.add_argument(
        "--floor-seconds", type=float, help="seconds of the floor measurement (default 3; --quick 1)"
    )
    p.add_argument(
        "--mass-timeout", type=float, help="bound of the mass mailing, seconds (default 330; --quick 240)"
    )
    p.add_argument(
        "--drain-timeout", type=float, default=90.0, help="bound of the wait for insert-phase letters"
    )
    p.add_argument("--status-repeats", type=int, default=3, help="calls per status query (the median counts)")
    p.add_argument("--timeout", type=float, default=1080.0, help="bound of the whole run, seconds")
    p.add_argument("--web-workers", type=int, help="gunicorn processes (default: product's; PostgreSQL 2)")
    p.add_argument("--workers", type=int, help="delivery worker processes (default SQLite 1, PostgreSQL 2)")
    p.add_argument("--seed", type=int, default=1, help="shuffle seed of the letter mix")
    p.add_argument(
        "--population",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mass mailing to distinct citizens of a synthetic KRR population (default on)",
    )
    p.add_argument("--log-level", default="WARNING", help="INNBYGGERPOST_LOG_LEVEL of the stack")
    p.add_argument("--env", action="append", metavar="NAME=VALUE", help="extra setting for the stack")
    p.add_argument(
        "--whatif",
        action="append",
        choices=["gc-freeze", "spyne-gc-off"],
        help="measure a suggested fix without changing the service (tests/bench/whatif/sitecustomize.py)",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the web and delivery workers")
    p.add_argument("--profile-rate", type=int, default=50, help="py-spy samples per second")
    p.add_argument("--keep", action="store_true", help="keep the temporary directories (logs, SQLite)")
    p.add_argument("--out", help="results JSON file (default var/bench/<stamp>-<db>.json)")
    args = p.parse_args(argv)
    q = args.quick
    args.letters = args.letters if args.letters is not None else (2000 if q else 100000)
    args.insert_seconds = args.insert_seconds if args.insert_seconds is not None else (5.0 if q else 20.0)
    args.warmup_seconds = args.warmup_seconds if args.warmup_seconds is not None else (1.0 if q else 3.0)
    args.floor_seconds = args.floor_seconds if args.floor_seconds is not None else (1.0 if q else 3.0)
    args.mass_timeout = args.mass_timeout if args.mass_timeout is not None else (240.0 if q else 330.0)
    args.stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.outdir = REPO / "var" / "bench"
    args.outdir.mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()
    start = time.monotonic()
    deadline = start + args.timeout

    def _term(signum: int, _frame: object) -> None:
        stopping.set()
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)

    def watchdog() -> None:  # a phase stuck past the whole run's bound: stop everything
        while not stopping.wait(5):
            if time.monotonic() > deadline + 60:
                print("benchmark: over --timeout; stopping", file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watchdog, daemon=True).start()
    if args.db == "postgres":
        args.db = "postgresql"
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    code = code_version()
    log(
        f"innbyggerpost benchmark on {code}: db {','.join(dbs)}, {args.letters} letters, {args.connections} "
        f"connections, {args.insert_seconds:.0f}s per insert phase, bound {args.timeout:.0f}s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    runs: list[Run] = []
    rc = 0
    try:
        for i, db in enumerate(dbs):
            # the later databases get their share of the remaining time
            share = (deadline - time.monotonic()) / (len(dbs) - i)
            run = Run(db, args, time.monotonic() + share, stopping)
            runs.append(run)
            run.run()
    except KeyboardInterrupt:
        stopping.set()
        print("\ninterrupted: everything started was stopped", file=sys.stderr)
        rc = 130
    except Exception as exc:  # noqa: BLE001 - report what was measured, then fail
        stopping.set()
        print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if runs:
            runs[-1].failures.append(f"{type(exc).__name__}: {exc}")
        rc = 1
    stopping.set()
    by_db = {r.db: r for r in runs}
    full = {
        "code": code,
        "started": args.stamp,
        "seconds": round(time.monotonic() - start, 1),
        "cpus": os.cpu_count(),
        "args": {k: v for k, v in vars(args).items() if k not in ("outdir",)},
        "runs": {r.db: {"figures": r.figures, "results": r.results, "failures": r.failures} for r in runs},
    }
    out = Path(args.out) if args.out else args.outdir / f"{args.stamp}-{args.db}.json"
    out.write_text(json.dumps(full, indent=2, default=str))
    print_table(runs)
    print(f"\nfull results: {out}; took {time.monotonic() - start:.0f}s")
    for r in runs:
        if rc:
            break
        m = r.results.get("mass", {})
        if any("mass mailing incomplete" in f for f in r.failures):
            rc = 2
        elif (
            r.figures.get("lost") or r.figures.get("delivered_twice") or any("lost" in f for f in r.failures)
        ):
            rc = 3
        elif r.failures:
            rc = 4
        elif not m:
            rc = 1
    line: dict[str, Any] = dict(by_db["sqlite"].figures) if "sqlite" in by_db else {k: None for k in KEYS}
    line["postgres"] = dict(by_db["postgresql"].figures) if "postgresql" in by_db else None
    print(json.dumps(line), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
