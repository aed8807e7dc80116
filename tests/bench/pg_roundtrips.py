"""The whole insert use case on PostgreSQL, per letter: round trips, statements, transactions, time.

One throw-away PostgreSQL cluster (fsync on, as ``make bench`` runs it). For each code tree in turn
(``--tree``, repeatable, alternated ``--rounds`` times; this worktree when none is given) a child
process runs that tree's WSGI application in-process (``tests/bench/inprocess.py``: migrate, demo
owners, KRR answered from memory) on a fresh database and POSTs ``--letters`` InsertCorrespondenceBasicV2
envelopes from ``--concurrency`` threads, for each kind of letter:

- ``sdp``: the bench's letter (ForwardOnly with BackupAltinn to the Digipost person);
- ``copy_notify``: CopyAltinn to the Digipost person with an e-mail notification (Altinn copy,
  notification message and its send job);
- ``altinn``: no SdpOptions (Altinn copy only);
- ``ws``: the ``sdp`` letter through the WS variant (SOAP 1.2, UsernameToken PasswordDigest with a
  fresh nonce per letter: the nonce replay cache in the database).

The child talks to PostgreSQL through a relay in this process that counts **round trips** (turns:
the server answering after the client sent; pipelined statements are one), and the server logs
every statement (``log_statement = all``): **statements** (each execution, also of an
``executemany``) and **transactions** (``BEGIN``). Per letter it prints those, the wall time and
the child's CPU (all its threads: request path and group-commit writer). The relay's hop is in the
wall time (as a network between the service and its database would be), not in the CPU.

    .venv/bin/python tests/bench/pg_roundtrips.py [--letters 1000] [--concurrency 32]
    git archive <commit> | tar -x -C /tmp/before        # the code of before, beside this worktree
    .venv/bin/python tests/bench/pg_roundtrips.py --tree /tmp/before --tree . --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KINDS = ("sdp", "copy_notify", "altinn", "ws")


# -- the child: one tree's application, in-process --------------------------------------------------
def child(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(Path.cwd()))
    from concurrent.futures import ThreadPoolExecutor

    from lxml import etree
    from zeep import Client
    from zeep.wsse.username import UsernameToken

    from service.adapters.migrate import upgrade
    from service.bootstrap import bootstrap
    from service.config import load
    from service.entrypoints.cli import ensure_demo_owners
    from service.entrypoints.soap.app import make_wsgi_app
    from tests.support import altinn as a
    from tests.support.fakes import FakeRegistry, person_with_postbox
    from tests.support.reference import BASIC_WSDL, WS_WSDL, altinn_reference
    from tests.support.wsgi import post as wsgi_post

    # as tests/bench/inprocess.py's basic_app, with the WS endpoint too
    work = Path(tempfile.mkdtemp(prefix="innbyggerpost-pgrt-"))
    config = load(
        {
            **os.environ,
            "INNBYGGERPOST_DATABASE_URL": args.url,
            "INNBYGGERPOST_SECRET_KEY_FILE": str(work / "secret.key"),
        }
    )
    upgrade(args.url)
    ensure_demo_owners(config)
    app = make_wsgi_app(
        bootstrap(config, registry=FakeRegistry(persons={a.DIGIPOST: person_with_postbox(a.DIGIPOST)}))
    )
    paths = {
        "basic": ("/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc", "1.1"),
        "ws": ("/ServiceEngineExternal/CorrespondenceAgencyExternal.svc", "1.2"),
    }

    def post(body: bytes, endpoint: str = "basic") -> bytes:
        path, soap_version = paths[endpoint]
        status, out = wsgi_post(app, path, body, soap_version)
        if not status.startswith("200"):
            raise RuntimeError(out[:400])
        return out

    ws_client = Client(
        str(altinn_reference(WS_WSDL)), wsse=UsernameToken("10001", "demo-password", use_digest=True)
    )
    ws_svc = ws_client.create_service(a.WS_BINDING, "http://127.0.0.1" + paths["ws"][0])

    def ws_envelopes(prefix: str, n: int) -> list[bytes]:
        """One envelope per letter: each has its own UsernameToken nonce (PasswordDigest)."""
        return [
            etree.tostring(
                ws_client.create_message(
                    ws_svc, "InsertCorrespondenceV2", "DEMO", f"{prefix}-{i}", letters["sdp"]
                ),
                xml_declaration=True,
                encoding="utf-8",
            )
            for i in range(n)
        ]

    client = Client(str(altinn_reference(BASIC_WSDL)))
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1/x")
    notification = {
        "FromAddress": "post@etat.no",
        "NotificationType": "VarselDPVUtenRevarsel",
        "ReceiverEndPoints": {"ReceiverEndPoint": [{"TransportType": "Email", "ReceiverAddress": "a@b.no"}]},
    }
    letters = {
        "sdp": a.letter(a.DIGIPOST, a.sdp()),
        "copy_notify": a.letter(
            a.DIGIPOST, a.sdp("CopyAltinn"), Notifications={"Notification": [notification]}
        ),
        "altinn": a.letter(a.DIGIPOST, None),
    }
    marker = "@@REFERENCE@@"

    def template(kind: str) -> tuple[bytes, bytes]:
        env = client.create_message(svc, "InsertCorrespondenceBasicV2", *a.DEMO[:3], marker, letters[kind])
        head, _, tail = etree.tostring(env, xml_declaration=True, encoding="utf-8").partition(marker.encode())
        return head, tail

    def prepare(kind: str, prefix: str, n: int) -> list[bytes]:
        if kind == "ws":
            return ws_envelopes(prefix, n)
        head, tail = template(kind)
        return [head + f"{prefix}-{i}".encode() + tail for i in range(n)]

    def run(kind: str, bodies: list[bytes]) -> None:
        def one(body: bytes) -> None:
            out = post(body, "ws" if kind == "ws" else "basic")
            if b">OK<" not in out:
                raise RuntimeError(out[:400])

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, bodies))

    for kind in KINDS:  # warm-up: connections, caches, the server's prepared statements
        run(kind, prepare(kind, f"warm-{kind}", max(50, args.concurrency * 2)))
    for kind in KINDS:
        bodies = prepare(kind, f"m-{kind}", args.letters)
        print(f"READY {kind}", flush=True)
        sys.stdin.readline()
        c0, w0 = time.process_time(), time.perf_counter()
        run(kind, bodies)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        print("DONE " + json.dumps({"kind": kind, "cpu_s": cpu, "wall_s": wall}), flush=True)
    return 0


# -- the parent: the cluster, the relay, the counting ------------------------------------------------
class TurnCounter:
    """A TCP relay in front of PostgreSQL that counts round trips (the server answering after the
    client sent something), over all connections."""

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", port), backlog=256)
        self.port = self.listener.getsockname()[1]
        self.turns = 0
        self.connections = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(("127.0.0.1", self.target_port))
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.connections += 1
        sent = False
        try:
            while True:
                ready, _, _ = select.select([client, server], [], [])
                for s in ready:
                    data = s.recv(1 << 16)
                    if not data:
                        return
                    if s is client:
                        server.sendall(data)
                        sent = True
                    else:
                        client.sendall(data)
                        if sent:
                            with self._lock:
                                self.turns += 1
                        sent = False
        except OSError:
            return
        finally:
            client.close()
            server.close()


_LOGGED = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)")


def logged_statements(log: Path, start: int) -> tuple[list[str], int]:
    with log.open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode(errors="replace")
        end = fh.tell()
    return [m.group(1).strip() for m in _LOGGED.finditer(text)], end


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--tree", action="append", help="code tree to run (repeatable; default this worktree)")
    p.add_argument("--rounds", type=int, default=1, help="times each tree is run, alternating")
    p.add_argument("--letters", type=int, default=1000, help="letters of each kind per round")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--relay-port", type=int, default=0, help="the relay's port (default: any free one)")
    p.add_argument("--show", action="store_true", help="statements per letter by their first words")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    sys.path.insert(0, str(REPO))
    from sqlalchemy import create_engine, text

    from tests.support.harness import Postgres, fresh_database
    from tests.support.reference import reference_dir

    trees = [Path(t).resolve() for t in (args.tree or [str(REPO)])]
    pg = Postgres(durable=True)
    server_url = pg.start()
    log = pg.dir / "log"
    relay = TurnCounter(pg.port, args.relay_port)
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    try:
        for r in range(args.rounds):
            for t, tree in enumerate(trees):
                name = f"rt_{r}_{t}"
                url = fresh_database(server_url, name)
                admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as c:
                    c.execute(text(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'"))
                admin.dispose()
                url = url.replace(f":{pg.port}/", f":{relay.port}/")
                env = {**os.environ, "PYTHONPATH": str(tree)}
                # the reference contracts beside this worktree, wherever the other tree is
                env.setdefault("INNBYGGERPOST_REFERENCE_DIR", str(reference_dir()))
                proc = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--child", "--url", url]
                    + ["--letters", str(args.letters), "--concurrency", str(args.concurrency)],
                    cwd=tree,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert proc.stdin and proc.stdout
                per_tree = results.setdefault(str(tree), {})
                for line in proc.stdout:
                    if line.startswith("READY"):
                        time.sleep(0.5)  # the warm-up's last commits logged
                        _, offset = logged_statements(log, 0)
                        turns0 = relay.turns
                        proc.stdin.write("go\n")
                        proc.stdin.flush()
                    elif line.startswith("DONE"):
                        done = json.loads(line[5:])
                        time.sleep(0.5)
                        statements, _ = logged_statements(log, offset)
                        n = args.letters
                        figures = {
                            "round_trips": (relay.turns - turns0) / n,
                            "statements": len(statements) / n,
                            "transactions": sum(s == "BEGIN" for s in statements) / n,
                            "selects": sum(s.upper().startswith("SELECT") for s in statements) / n,
                            "wall_ms": 1000 * done["wall_s"] / n,
                            "cpu_ms": 1000 * done["cpu_s"] / n,
                        }
                        per_tree.setdefault(done["kind"], []).append(figures)
                        print(
                            f"{tree} round {r} {done['kind']}: " + json.dumps(_rounded(figures)), flush=True
                        )
                        if args.show:
                            shapes = Counter(" ".join(s.split()[:4])[:60] for s in statements)
                            for shape, count in shapes.most_common():
                                print(f"    {count / n:7.3f}  {shape}")
                if proc.wait() != 0:
                    raise SystemExit(f"the child of {tree} failed ({proc.returncode})")
    finally:
        pg.stop()
    summary = {
        tree: {kind: _rounded(_median(runs)) for kind, runs in kinds.items()}
        for tree, kinds in results.items()
    }
    print(json.dumps({"letters": args.letters, "concurrency": args.concurrency, "median": summary}))
    return 0


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in figures.items()}


if __name__ == "__main__":
    raise SystemExit(main())
