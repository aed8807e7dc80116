#!/usr/bin/env python3
"""Peak RSS of one delivery worker delivering letters with big attachments (issue 17: ≤ 150 MB
whatever the batch), one or more code trees measured in one session.

    python tests/bench/worker_memory.py --letters 96 --size-mb 1 [--tree /path/to/other/checkout ...]

Starts the test stack (simulators, gunicorn service, SQLite) with no worker, inserts ``--letters``
letters with one attachment of ``--size-mb`` MB each (Digipost and e-Boks persons, ForwardOnly: every
one goes through the DPI path: package, signature, CMS encryption, multipart send), then starts ONE
delivery worker from each tree in turn (the worktree itself when no ``--tree`` is given) with the
product's claim batch and send concurrency, and waits until every letter of its round is final. It
prints the worker's peak RSS (VmHWM) at its first heartbeat (start-up) and at the end, and the
growth between. Rounds share the machine and the stack; the worker's memory is its own.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support import altinn as a  # noqa: E402
from tests.support.harness import Stack, wait_until  # noqa: E402

# the product defaults, not the test harness's tuning (tests/bench/run_bench.py does the same)
_TEST_TUNING = ("INNBYGGERPOST_WORKER_CONCURRENCY", "INNBYGGERPOST_WORKER_CLAIM_BATCH")


def vm_mb(pid: int, key: str) -> float:
    m = re.search(rf"{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else 0.0


def insert_letters(stack: Stack, n: int, size: int, prefix: str) -> list[str]:
    refs = [a.ref(prefix) for _ in range(n)]
    persons = [a.DIGIPOST, a.EBOKS]
    data = b"%PDF-1.4\n" + random.Random(7).randbytes(size)  # random: the zip cannot shrink it
    att = {"FunctionType": "Unspecified", "FileName": "brev.pdf", "Name": "Brev", "Encrypted": False}

    def one(i: int) -> str:
        corr = a.letter(persons[i % 2], a.sdp("ForwardOnly", True), attachments=[{**att, "Data": data}])
        return str(a.insert(stack.basic_url, refs[i], corr).ReceiptStatusCode)

    with ThreadPoolExecutor(4) as pool:  # 4 at once: under the web's bound on bytes in flight
        statuses = list(pool.map(one, range(n)))
    assert set(statuses) == {"OK"}, statuses
    return refs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--letters", type=int, default=96)
    p.add_argument("--size-mb", type=float, default=1.0)
    p.add_argument("--tree", action="append", help="code tree to run the worker from (repeatable)")
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the workers")
    args = p.parse_args()
    trees = [Path(t).resolve() for t in (args.tree or [str(REPO)])]
    workdir = Path(tempfile.mkdtemp(prefix="worker-memory-"))
    stack = Stack("sqlite", f"sqlite:///{workdir}/innbyggerpost.db", workdir).start()
    results = []
    try:
        for i, tree in enumerate(trees):
            refs = insert_letters(stack, args.letters, int(args.size_mb * 1024 * 1024), f"mem{i}")
            env = {k: v for k, v in stack.env.items() if k not in _TEST_TUNING}
            env.update(dict(e.split("=", 1) for e in args.env))
            proc = stack.worker_from(tree, env, workdir / f"worker{i}.log")
            try:
                wait_until(
                    lambda: stack.count(
                        "SELECT count(*) FROM worker_heartbeats WHERE worker_id LIKE :w",
                        w=f"%:{proc.pid}",  # noqa: B023 - called in this iteration only
                    ),
                    60,
                    "the worker's first heartbeat",
                    interval=0.02,
                )
                start_mb, t0 = vm_mb(proc.pid, "VmHWM"), time.monotonic()
                like, n = f"mem{i}-%", len(refs)
                delivered = stack.wait_forwardings_final(like, n, 600, interval=0.1)
                peak_mb, rss_mb, t1 = vm_mb(proc.pid, "VmHWM"), vm_mb(proc.pid, "VmRSS"), time.monotonic()
            finally:
                proc.terminate()
                proc.wait(30)
            r = {
                "tree": str(tree),
                "letters": n,
                "delivered": delivered,
                "attachment_mb": args.size_mb,
                "vmhwm_at_start_mb": round(start_mb, 1),
                "vmhwm_at_end_mb": round(peak_mb, 1),
                "vmrss_at_end_mb": round(rss_mb, 1),
                "growth_mb": round(peak_mb - start_mb, 1),
                "wall_s": round(t1 - t0, 1),
            }
            print(r, flush=True)
            results.append(r)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    for r in results:
        print(
            f"peak {r['vmhwm_at_end_mb']:7.1f} MB (start {r['vmhwm_at_start_mb']:6.1f}, +{r['growth_mb']:6.1f})  {r['tree']}"
        )


if __name__ == "__main__":
    main()
