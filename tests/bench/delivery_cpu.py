#!/usr/bin/env python3
"""CPU of the delivery worker per letter, one or more code trees measured in one session.

    python tests/bench/delivery_cpu.py --letters 2000 [--tree /path/to/other/checkout ...]

Starts the test stack (simulators, gunicorn service, SQLite or PostgreSQL) with no worker, inserts
``--letters`` forwarded letters (Digipost and e-Boks persons, ForwardOnly), then starts ONE delivery
worker from each tree in turn (the worktree itself when no ``--tree`` is given) and waits until every
letter of its round is final. It prints the worker's CPU (user+system, from /proc) between its first
heartbeat and the last letter final, divided by the letters: the worker's start-up (imports, WSDL
parse) is not counted. Rounds share the machine and the stack, so their ratio is what to compare.
``--profile DIR`` records a py-spy flame graph of each worker (py-spy must be installed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support import altinn as a  # noqa: E402
from tests.support.harness import Postgres, Stack, wait_until  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def insert_letters(stack: Stack, n: int, prefix: str) -> list[str]:
    refs = [a.ref(prefix) for _ in range(n)]
    persons = [a.DIGIPOST, a.EBOKS]
    with ThreadPoolExecutor(16) as pool:
        receipts = list(
            pool.map(
                lambda i: a.insert(
                    stack.basic_url, refs[i], a.letter(persons[i % 2], a.sdp("ForwardOnly", backup=True))
                ),
                range(n),
            )
        )
    assert {r.ReceiptStatusCode for r in receipts} == {"OK"}
    return refs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--letters", type=int, default=2000)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--tree", action="append", help="code tree to run the worker from (repeatable)")
    p.add_argument("--profile", help="directory for py-spy flame graphs")
    p.add_argument("--gil", action="store_true", help="py-spy samples only the thread holding the GIL")
    p.add_argument("--profile-raw", action="store_true", help="collapsed stacks (text) instead of SVG")
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the workers")
    args = p.parse_args()
    trees = [Path(t).resolve() for t in (args.tree or [str(REPO)])]
    workdir = Path(tempfile.mkdtemp(prefix="delivery-cpu-"))
    pg = Postgres() if args.db == "postgresql" else None
    url = pg.start() if pg else f"sqlite:///{workdir}/innbyggerpost.db"
    stack = Stack(args.db, url, workdir).start()
    results = []
    try:
        for i, tree in enumerate(trees):
            refs = insert_letters(stack, args.letters, f"cpu{i}")
            env = {**stack.env, **dict(e.split("=", 1) for e in args.env)}
            proc = stack.worker_from(tree, env, workdir / f"worker{i}.log")
            spy = None
            try:
                worker_like = f"%:{proc.pid}"
                wait_until(
                    lambda: stack.count(
                        "SELECT count(*) FROM worker_heartbeats WHERE worker_id LIKE :w",
                        w=worker_like,  # noqa: B023 - called in this iteration only
                    ),
                    60,
                    "the worker's first heartbeat",
                    interval=0.02,
                )
                cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
                if args.profile:
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    spy = subprocess.Popen(
                        [
                            shutil.which("py-spy") or "py-spy",
                            "record",
                            "--nonblocking",
                            *(["--gil"] if args.gil else []),
                            "--format",
                            "raw" if args.profile_raw else "flamegraph",
                            "-o",
                            str(Path(args.profile) / f"worker{i}.{'txt' if args.profile_raw else 'svg'}"),
                            "--pid",
                            str(proc.pid),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                like, n = f"cpu{i}-%", len(refs)
                delivered = stack.wait_forwardings_final(like, n, 1800, interval=0.05)
                cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            finally:
                proc.terminate()
                proc.wait(30)
                if spy is not None:
                    spy.wait(30)
            r = {
                "tree": str(tree),
                "letters": len(refs),
                "delivered": delivered,
                "worker_cpu_s": round(cpu1 - cpu0, 2),
                "cpu_ms_per_letter": round((cpu1 - cpu0) * 1000 / len(refs), 2),
                "wall_s": round(t1 - t0, 2),
                "letters_per_s": round(len(refs) / (t1 - t0), 1),
            }
            print(r, flush=True)
            results.append(r)
    finally:
        stack.stop()
        if pg:
            pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    base = results[0]["cpu_ms_per_letter"]
    for r in results:
        print(f"{r['cpu_ms_per_letter']:8.2f} ms/letter  x{r['cpu_ms_per_letter'] / base:5.2f}  {r['tree']}")


if __name__ == "__main__":
    main()
