"""Command line: ``innbyggerpost <command>`` (see ``innbyggerpost --help`` and README.md)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from .. import logs
from ..config import Settings, SettingsError, load
from ..service_layer.unit_of_work import UnitOfWorkFactory

DEMO_OWNERS: tuple[tuple[str, str, str, str, str, list[tuple[str, int]], list[tuple[str, int]]], ...] = (
    # SystemUserCode, name, organisation number, systemUserName, systemPassword, services,
    # services whose letters the citizen confirms in the inbox
    ("DEMO", "Demo service owner", "910646192", "10001", "demo-password", [("4503", 1)], [("4503", 2)]),
    ("OTHER", "Other demo service owner", "910646192", "10002", "other-password", [("4504", 1)], []),
)
# Security levels other than the default 3 (the inbox sign-in they need, the DPI sikkerhetsnivaa).
DEMO_SECURITY_LEVELS: dict[str, dict[tuple[str, int], int]] = {"DEMO": {("4503", 3): 4}}


def _security_levels(items: list[str]) -> dict[tuple[str, int], int]:
    """``ServiceCode:ServiceEdition=Level`` items (level 3 or 4)."""
    levels = {}
    for item in items:
        pair, sep, level = item.partition("=")
        if not sep or level.strip() not in ("3", "4"):
            raise SettingsError(f"--security-level {item!r}: expected ServiceCode:ServiceEdition=3 or =4")
        [key] = _service_pairs([pair])
        levels[key] = int(level)
    return levels


#: the demo owners' Altinn 3 resources (INBOX_BACKEND=altinn3; the simulator accepts any resource id)
DEMO_RESOURCES: dict[tuple[str, int], str] = {
    ("4503", 1): "innbyggerpost-demo-4503-1",
    ("4503", 2): "innbyggerpost-demo-4503-2",
    ("4504", 1): "innbyggerpost-demo-4504-1",
    ("4503", 3): "innbyggerpost-demo-4503-3",
}


def _resources(items: list[str]) -> dict[tuple[str, int], str]:
    """``--resource 4503:1=<resourceId>`` (repeatable) -> {(code, edition): resourceId}."""
    out: dict[tuple[str, int], str] = {}
    for item in items:
        service, sep, resource = item.partition("=")
        if not sep or not resource.strip():
            raise SystemExit(f"--resource {item!r}: expected ServiceCode:ServiceEdition=<resourceId>")
        (pair,) = _service_pairs([service.strip()])
        out[pair] = resource.strip()
    return out


def _service_pairs(items: list[str]) -> list[tuple[str, int]]:
    pairs = []
    for item in items:
        code, _, edition = item.partition(":")
        pairs.append((code, int(edition or "1")))
    return pairs


def _uow_factory(settings: Settings) -> UnitOfWorkFactory:
    from ..bootstrap import bootstrap

    return bootstrap(settings).uow_factory


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from ..adapters.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database migrated: {_redact(settings.database_url)}")
    return 0


def cmd_owner_add(settings: Settings, args: argparse.Namespace) -> int:
    from ..service_layer.owners import SecretBox, add_owner

    password = args.password or settings.owner_password
    if not password:
        print("give --password or INNBYGGERPOST_OWNER_PASSWORD", file=sys.stderr)
        return 2
    created = add_owner(
        _uow_factory(settings)(),
        system_user_code=args.code,
        name=args.name or args.code,
        organisation_number=args.orgnr,
        username=args.user,
        password=password,
        services=_service_pairs(args.service),
        secret_box=SecretBox(settings.secret_key_file) if args.digest else None,
        replace=args.replace,
        confirmation=_service_pairs(args.confirmation),
        security_levels=_security_levels(args.security_level),
        resources=_resources(args.resource),
    )
    print(("created" if created else "exists (use --replace to update)") + f": service owner {args.code}")
    return 0


def ensure_demo_owners(settings: Settings) -> None:
    from ..service_layer.owners import SecretBox, add_owner

    uow = _uow_factory(settings)
    for code, name, orgnr, user, password, services, confirmation in DEMO_OWNERS:
        if add_owner(
            uow(),
            system_user_code=code,
            name=name,
            organisation_number=orgnr,
            username=user,
            password=password,
            services=services,
            secret_box=SecretBox(settings.secret_key_file),
            confirmation=confirmation,
            security_levels=DEMO_SECURITY_LEVELS.get(code),
            resources={
                p: r
                for p, r in DEMO_RESOURCES.items()
                if p in services or p in confirmation or p in DEMO_SECURITY_LEVELS.get(code, {})
            },
        ):
            print(f"demo service owner {code} created (system user {user})")


def cmd_demo_owners(settings: Settings, _args: argparse.Namespace) -> int:
    ensure_demo_owners(settings)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    conf = "python:service.entrypoints.gunicorn_conf"  # in the package: works from an installed wheel
    argv = [sys.executable, "-m", "gunicorn", "-c", conf, "service.entrypoints.soap.app:make_app()"]
    if args.bind:
        argv += ["--bind", args.bind]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    from .malloc import environment_defaults

    environment_defaults(os.environ)  # glibc malloc bounds for the web processes (malloc.py)
    os.execv(sys.executable, argv)


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from .malloc import bound_malloc
    from .worker import main

    bound_malloc()  # before the send threads start (issue 17: the worker's memory)
    main(settings)
    return 0


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from simulators.app import serve
    from simulators.notify import start_smtp_catcher

    if args.smtp_port:
        start_smtp_catcher(args.host, args.smtp_port)
    serve(
        args.host,
        args.port,
        seed_path=args.seed or settings.sim_seed or None,
        require_signature=args.require_signature,
        pki_dir=args.pki_dir or settings.sim_pki_dir,
    )
    return 0


def cmd_maskinporten(settings: Settings, args: argparse.Namespace) -> int:
    """Ask Maskinporten for a token as the service would, and print its claims (README: Going live)."""
    import json

    import jwt

    from clients.certificates import CredentialsError
    from clients.maskinporten import KRR_SCOPES, MaskinportenError

    from ..bootstrap import bootstrap

    try:
        token = bootstrap(settings).maskinporten.token(args.scope or list(KRR_SCOPES), args.consumer_org)
    except (MaskinportenError, CredentialsError, ValueError) as exc:
        print(f"innbyggerpost: no token: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(jwt.decode(token, options={"verify_signature": False}), indent=2))
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from .status_report import print_status

    return print_status(_uow_factory(settings), args.reference, args.code)


def _subscribe_when_up(exe: list[str]) -> None:
    """``make run`` with the altinn3 backend: subscribe the webhook once the web service answers."""
    import urllib.error
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen("http://127.0.0.1:8080/health", timeout=2)
            break
        except urllib.error.HTTPError:
            break  # it answers (503 until the worker reports)
        except OSError:
            time.sleep(0.5)
    for _ in range(10):  # the simulators (or Altinn) may still be starting
        if subprocess.run(exe + ["altinn3", "subscribe"], check=False, capture_output=True).returncode == 0:
            break
        time.sleep(2)
    else:
        print("innbyggerpost: altinn3 subscribe failed; run it by hand (status comes by polling meanwhile)")
    print(
        "innbyggerpost: Altinn 3 simulator http://127.0.0.1:8090/altinn3/_sim/ (mark copies Read / Confirmed)",
        flush=True,
    )


def cmd_run_all(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate, create the demo owners, then run simulators, service and worker until Ctrl-C."""
    os.environ.setdefault("INNBYGGERPOST_DEMO_MODE", "1")  # the inbox's demo sign-in (README: Inbox)
    cmd_migrate(settings, args)
    ensure_demo_owners(settings)
    exe = [sys.executable, "-m", "service.entrypoints.cli"]
    procs = [
        subprocess.Popen(exe + ["simulate", "--port", "8090", "--smtp-port", "8025"]),
        subprocess.Popen(exe + ["serve", "--bind", "127.0.0.1:8080"]),
        subprocess.Popen(exe + ["worker"]),
    ]
    print(
        "innbyggerpost: service http://127.0.0.1:8080/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"
        "  (simulators on :8090, SMTP catcher on :8025, caught notifications on"
        " http://127.0.0.1:8090/_sim/outbox, delivery worker running; Ctrl-C stops all)\n"
        "innbyggerpost: inbox http://127.0.0.1:8080/inbox/ (demo sign-in)",
        flush=True,
    )
    if settings.inbox_backend == "altinn3" and settings.altinn3_events_secret:
        threading.Thread(target=_subscribe_when_up, args=(exe,), daemon=True).start()
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.3)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0 if stopping else 1


def cmd_example(settings: Settings, args: argparse.Namespace) -> int:
    from .example_client import main as example_main

    return example_main(args)


def cmd_altinn3_subscribe(settings: Settings, args: argparse.Namespace) -> int:
    """One Altinn Events subscription per Altinn 3 resource (``--resource``, else every mapped one),
    pointing at this service's webhook with the shared secret."""
    from urllib.parse import quote

    from ..bootstrap import bootstrap

    if not settings.altinn3_events_secret and not args.endpoint:
        print(
            "set INNBYGGERPOST_ALTINN3_EVENTS_SECRET (the webhook is off without it) or give --endpoint",
            file=sys.stderr,
        )
        return 2
    container = bootstrap(settings)
    endpoint = args.endpoint or (
        settings.public_url.rstrip("/")
        + "/altinn3/events?secret="
        + quote(settings.altinn3_events_secret, safe="")
    )
    resources = args.resource
    if not resources:
        with container.uow_factory().for_reading() as uow:
            resources = uow.owners.altinn3_resources()
    if not resources:
        print(
            "no Altinn 3 resource is mapped (owner add ... --resource 4503:1=<resourceId>)", file=sys.stderr
        )
        return 2
    from clients.altinn3 import Altinn3Inbox

    client = Altinn3Inbox.from_settings(settings, container.maskinporten)
    for resource in resources:
        sub = client.subscribe(endpoint, resource_id=resource)
        print(
            f"subscription {sub.get('id')} for urn:altinn:resource:{resource}: validated={sub.get('validated')}"
        )
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="innbyggerpost", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create/upgrade the database schema (Alembic)").set_defaults(
        fn=cmd_migrate
    )
    owner = sub.add_parser("owner", help="service owners").add_subparsers(dest="owner_command", required=True)
    add = owner.add_parser("add", help="create a service owner with one system user")
    add.add_argument("--code", required=True, help="SystemUserCode, e.g. DEMO")
    add.add_argument("--name")
    add.add_argument("--orgnr", required=True, help="the owner's organisation number (SDP sender)")
    add.add_argument("--user", required=True, help="systemUserName (also the WS UsernameToken user)")
    add.add_argument("--password", help="systemPassword (or INNBYGGERPOST_OWNER_PASSWORD)")
    add.add_argument("--service", action="append", default=[], help="ServiceCode:ServiceEdition, repeatable")
    add.add_argument(
        "--confirmation",
        action="append",
        default=[],
        help="ServiceCode:ServiceEdition whose letters the citizen confirms in the inbox, repeatable",
    )
    add.add_argument(
        "--security-level",
        action="append",
        default=[],
        metavar="CODE:EDITION=LEVEL",
        help="security level 3 or 4 of a service edition (default 3): the DPI sikkerhetsnivaa and the "
        "ID-porten level citizens need to open its letters in the inbox, repeatable",
    )
    add.add_argument(
        "--resource",
        action="append",
        default=[],
        help="ServiceCode:ServiceEdition=<Altinn 3 resourceId> (INBOX_BACKEND=altinn3), repeatable",
    )
    add.add_argument(
        "--digest",
        action="store_true",
        help="allow WS-Security PasswordDigest (stores the password encrypted)",
    )
    add.add_argument("--replace", action="store_true", help="update an existing owner/user")
    add.set_defaults(fn=cmd_owner_add)
    sub.add_parser("demo-owners", help="create the demo service owners DEMO and OTHER").set_defaults(
        fn=cmd_demo_owners
    )
    serve = sub.add_parser("serve", help="run the SOAP service under gunicorn (deploy/gunicorn.conf.py)")
    serve.add_argument("--bind")
    serve.add_argument("--workers", type=int)
    serve.set_defaults(fn=cmd_serve)
    sub.add_parser("worker", help="run a delivery worker").set_defaults(fn=cmd_worker)
    sim = sub.add_parser("simulate", help="run the KRR and postbox-vendor simulators")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8090)
    sim.add_argument("--smtp-port", type=int, default=8025, help="SMTP catcher port (0: none)")
    sim.add_argument("--seed", help="seed file (default simulators/seed.json or INNBYGGERPOST_SIM_SEED)")
    sim.add_argument(
        "--require-signature", action="store_true", help="KRR simulator requires WS-Security signatures"
    )
    sim.add_argument(
        "--pki-dir", help="the test PKI's directory (default INNBYGGERPOST_SIM_PKI_DIR, var/test-pki)"
    )
    sim.set_defaults(fn=cmd_simulate)
    alt = sub.add_parser("altinn3", help="Altinn 3 Correspondence").add_subparsers(
        dest="altinn3_command", required=True
    )
    subscribe = alt.add_parser("subscribe", help="subscribe this service's webhook to Altinn Events")
    subscribe.add_argument(
        "--resource", action="append", default=[], help="Altinn 3 resource id (default: every mapped one)"
    )
    subscribe.add_argument(
        "--endpoint", help="webhook URL (default: INNBYGGERPOST_PUBLIC_URL/altinn3/events?secret=...)"
    )
    subscribe.set_defaults(fn=cmd_altinn3_subscribe)
    mp = sub.add_parser(
        "maskinporten", help="get a Maskinporten token as the service would; print its claims"
    )
    mp.add_argument("--scope", action="append", help="a scope, repeatable (default: the KRR scopes)")
    mp.add_argument("--consumer-org", help="acting for this organisation (consumer_org)")
    mp.set_defaults(fn=cmd_maskinporten)
    st = sub.add_parser("status", help="status history of one ExternalShipmentReference")
    st.add_argument("reference")
    st.add_argument("--code", help="SystemUserCode (when several owners use the same reference)")
    st.set_defaults(fn=cmd_status)
    sub.add_parser(
        "run-all", help="what `make run` runs: migrate, demo owners, simulators, service, worker"
    ).set_defaults(fn=cmd_run_all)
    ex = sub.add_parser("example", help="send one letter with a zeep client built from the published WSDL")
    ex.add_argument("--url", default="http://127.0.0.1:8080")
    ex.add_argument("--reportee", default="01018010018")
    ex.add_argument("--mode", choices=["altinn", "forward-only", "fallback", "copy"], default="fallback")
    ex.add_argument("--reference", help="ExternalShipmentReference (default: a new one)")
    ex.add_argument("--user", default="10001")
    ex.add_argument("--password", default="demo-password")
    ex.add_argument("--code", default="DEMO")
    ex.add_argument("--service-code", default="4503")
    ex.add_argument("--service-edition", type=int, default=1, help="4503:2 of DEMO asks for confirmation")
    ex.add_argument(
        "--notification",
        choices=["Email", "SMS", "Both", "EmailPreferred", "SMSPreferred"],
        help="add an Altinn notification with this TransportType (address from KRR)",
    )
    ex.add_argument("--notification-type", default="VarselDPVUtenRevarsel", help="NotificationType")
    ex.add_argument(
        "--altinn-status",
        metavar="REFERENCE",
        help="send nothing: print GetCorrespondenceStatusDetailsBasicV3's StatusChanges of this shipment",
    )
    ex.add_argument("--wait", type=float, default=0, help="then poll the status for up to this many seconds")
    ex.set_defaults(fn=cmd_example)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load()
    except SettingsError as exc:
        print(f"innbyggerpost: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    args = build_parser().parse_args(argv)
    return int(args.fn(settings, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
