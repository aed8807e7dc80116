"""Settings: the one place that reads the environment (documented in README.md, section Configuration).

Every ``INNBYGGERPOST_*`` variable is a field here. A value that does not parse raises
:class:`SettingsError` naming the variable, at start-up, not at first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
SIM_DEFAULT = "http://127.0.0.1:8090"
DEMO_CLIENT_ID = "innbyggerpost-demo"  # the simulated Maskinporten's demo client (simulators/seed.json)
DEMO_OPERATOR_ORGNR = "910646192"  # its organisation (the test PKI's enterprise certificate)


class SettingsError(ValueError):
    """A setting's environment variable holds a value that cannot be used."""


# The environment Settings read; tests and the composition root may pass another mapping.
_environ: Mapping[str, str] = os.environ


def _get(name: str, default: T, parse: Callable[[str], T]) -> T:
    raw = _environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{name}={raw!r}: {exc}") from exc


def _bool(raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true/false")


def _networks(raw: str) -> tuple[str, ...]:
    """``10.0.0.1, 192.168.0.0/16, ::1`` -> the networks, checked (ipaddress), as strings."""
    import ipaddress

    return tuple(str(ipaddress.ip_network(p.strip(), strict=False)) for p in raw.split(",") if p.strip())


def _items(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.upper() not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return raw.upper()

    return parse


def env(name: str, default: Any, parse: Callable[[str], Any] | None = None) -> Any:
    """A Settings field read from ``INNBYGGERPOST_<name>``."""
    conv: Callable[[str], Any] = parse or (type(default) if not isinstance(default, bool) else _bool)
    if isinstance(default, dict):  # a fresh copy for every Settings
        return field(default_factory=lambda: _get("INNBYGGERPOST_" + name, dict(default), conv))
    return field(default_factory=lambda: _get("INNBYGGERPOST_" + name, default, conv))


@dataclass(frozen=True)
class Settings:
    # Storage and the published service
    database_url: str = env("DATABASE_URL", "sqlite:///var/innbyggerpost.db")
    # SQLite: FULL makes every commit durable before the receipt is sent (README: durability).
    sqlite_synchronous: str = env("SQLITE_SYNCHRONOUS", "FULL", _choice("FULL", "NORMAL", "EXTRA"))
    # PostgreSQL: refuse to start when fsync or synchronous_commit is off (OK receipts would not be durable).
    require_durable_database: bool = env("REQUIRE_DURABLE_DATABASE", True)
    public_url: str = env("PUBLIC_URL", "http://127.0.0.1:8080")
    max_request_bytes: int = env("MAX_REQUEST_BYTES", 30 * 1024 * 1024)
    status_result_limit: int = env("STATUS_RESULT_LIMIT", 1000)
    # GetCorrespondenceStatusHistory's own limit: Altinn allows 10 000 references a call, all answered.
    status_history_limit: int = env("STATUS_HISTORY_LIMIT", 10000)
    # InsertCorrespondenceV2 / BasicV2 read from the guard's tree without spyne's deserialiser
    # (soap/fast_insert.py); anything it is not sure of still goes to spyne. false: spyne for all.
    insert_fast_path: bool = env("INSERT_FAST_PATH", True)
    # Letters stored per transaction by a web process's writer (group commit).
    write_batch_max: int = env("WRITE_BATCH_MAX", 256)
    # Fernet key file protecting the stored PasswordDigest secrets (created when absent).
    secret_key_file: str = env("SECRET_KEY_FILE", "var/secret.key")
    wsse_max_age_seconds: int = env("WSSE_MAX_AGE_SECONDS", 300)
    wsse_require_nonce_created: bool = env("WSSE_REQUIRE_NONCE_CREATED", False)
    # Authentication abuse: failed logins per system user and per client address in a window.
    login_failures_max: int = env("LOGIN_FAILURES_MAX", 10)
    login_failure_window_seconds: float = env("LOGIN_FAILURE_WINDOW_SECONDS", 300.0)
    login_lockout_seconds: float = env("LOGIN_LOCKOUT_SECONDS", 60.0)
    password_hash_concurrency: int = env("PASSWORD_HASH_CONCURRENCY", 2)
    login_refusal_delay_seconds: float = env("LOGIN_REFUSAL_DELAY_SECONDS", 0.25)
    # SOAP requests one web process admits at once (0: INNBYGGERPOST_WEB_THREADS); more get the busy
    # fault at once (load shedding, service/entrypoints/soap/shedding.py).
    max_pending_requests: int = env("MAX_PENDING_REQUESTS", 0)
    # Declared request bytes one web process admits at once (0: no bound); more: the busy fault.
    max_pending_request_bytes: int = env("MAX_PENDING_REQUEST_BYTES", 32 * 1024 * 1024)
    # Inbox (/inbox/): the demo sign-in only in demo mode; sessions signed with a key derived from the
    # secret key file unless INBOX_SESSION_SECRET is set.
    demo_mode: bool = env("DEMO_MODE", False)
    inbox_session_secret: str = env("INBOX_SESSION_SECRET", "")
    inbox_session_seconds: int = env("INBOX_SESSION_SECONDS", 8 * 3600)
    # ID-porten sign-in for the inbox (OpenID Connect, code flow with PKCE): the issuer (the rest from
    # its discovery document), the client; without a secret, private_key_jwt with the enterprise
    # certificate (CERTIFICATE_FILE / CERTIFICATE_PASSWORD, below).
    idporten_url: str = env("IDPORTEN_URL", "")
    idporten_client_id: str = env("IDPORTEN_CLIENT_ID", "")
    idporten_client_secret: str = env("IDPORTEN_CLIENT_SECRET", "")
    # Maskinporten (SPEC-transports §1): issuer (the token endpoint is <issuer>token), the client, and
    # the enterprise certificate (PKCS#12 or PEM) that signs its assertions, XAdES and JWS; empty file:
    # required when a token is needed (make run and the test stacks point it at the test PKI).
    maskinporten_url: str = env("MASKINPORTEN_URL", SIM_DEFAULT + "/maskinporten/")
    maskinporten_client_id: str = env("MASKINPORTEN_CLIENT_ID", DEMO_CLIENT_ID)
    maskinporten_kid: str = env("MASKINPORTEN_KID", "")
    certificate_file: str = env("CERTIFICATE_FILE", "")
    certificate_password: str = env("CERTIFICATE_PASSWORD", "")
    # KRR: REST (kontaktregisteret, POST <krr_url>/rest/v2/personer, a Maskinporten token) or, with
    # KRR_PROTOCOL=soap, the oppslagstjeneste 16-02 at KRR_SOAP_URL
    krr_protocol: str = env("KRR_PROTOCOL", "rest", lambda raw: _choice("REST", "SOAP")(raw).lower())
    krr_url: str = env("KRR_URL", SIM_DEFAULT + "/kontaktregisteret")
    # empty: the simulator's, or with KRR_PROTOCOL=soap an explicitly set KRR_URL (``krr_soap_endpoint``)
    krr_soap_url: str = env("KRR_SOAP_URL", "")
    krr_paa_vegne_av: str = env("KRR_PAA_VEGNE_AV", "")
    krr_cert_file: str = env("KRR_CERT_FILE", "")
    krr_key_file: str = env("KRR_KEY_FILE", "")
    krr_batch_size: int = env("KRR_BATCH_SIZE", 1000)
    # The KRR gateway: a look-up that finds it idle goes at once; under load look-ups queue and go as
    # one call when the oldest has waited this long (issue 17: fewer calls, at most this much later),
    krr_batch_wait_seconds: float = env("KRR_BATCH_WAIT_SECONDS", 0.1)
    # or at once when this many ids are queued (a call under load carries at least this many),
    krr_batch_ready_ids: int = env("KRR_BATCH_READY_IDS", 8)
    # at most this many KRR calls at once per process,
    krr_max_concurrent_calls: int = env("KRR_MAX_CONCURRENT_CALLS", 2)
    # a letter's look-up gives up after this long in all (retries included),
    krr_time_budget_seconds: float = env("KRR_TIME_BUDGET_SECONDS", 3.0)
    # and after this many failed calls in a row the circuit opens for the cool-down.
    krr_breaker_failures: int = env("KRR_BREAKER_FAILURES", 5)
    krr_breaker_cooldown_seconds: float = env("KRR_BREAKER_COOLDOWN_SECONDS", 10.0)
    # DPI (SPEC-transports §3): the access point every letter to Digipost and e-Boks goes through;
    # the CA certificates (PEM) its receipts' x5c must chain to ("": the test PKI's CA in
    # SIM_PKI_DIR); where postbox-<vendor orgnr>.pem certificates are read for letters stored without
    # KRR's certificate (stored before migration 0007; "": none); the receipt channel (kanal) of this
    # system ("": none).
    dpi_url: str = env("DPI_URL", SIM_DEFAULT + "/dpi")
    dpi_trusted_ca_file: str = env("DPI_TRUSTED_CA_FILE", "")
    dpi_postbox_certificate_dir: str = env("DPI_POSTBOX_CERTIFICATE_DIR", "")
    dpi_kanal: str = env("DPI_KANAL", "")
    # a sent letter without a receipt for this long has its status at the access point checked
    # (FEILET: failed), about once a minute, 100 letters a round
    dpi_status_check_seconds: float = env("DPI_STATUS_CHECK_SECONDS", 300.0)
    # Outbound calls
    connect_timeout: float = env("CONNECT_TIMEOUT", 3.0)
    read_timeout: float = env("READ_TIMEOUT", 10.0)
    call_attempts: int = env("CALL_ATTEMPTS", 3)
    call_backoff: float = env("CALL_BACKOFF", 0.2)
    # Delivery worker
    worker_concurrency: int = env("WORKER_CONCURRENCY", 8)
    worker_poll_seconds: float = env("WORKER_POLL_SECONDS", 0.5)
    # Jobs one worker holds claimed at a time (sent worker_concurrency at a time; leases renewed).
    worker_claim_batch: int = env("WORKER_CLAIM_BATCH", 32)
    # Heartbeat and lease renewal interval; a worker silent for worker_stale_seconds has its
    # claimed jobs released to the other workers (well before its lease ends).
    worker_heartbeat_seconds: float = env("WORKER_HEARTBEAT_SECONDS", 1.0)
    worker_stale_seconds: float = env("WORKER_STALE_SECONDS", 5.0)
    delivery_max_attempts: int = env("DELIVERY_MAX_ATTEMPTS", 6)
    delivery_backoff_seconds: float = env("DELIVERY_BACKOFF_SECONDS", 2.0)
    delivery_backoff_max_seconds: float = env("DELIVERY_BACKOFF_MAX_SECONDS", 600.0)
    claim_lease_seconds: float = env("CLAIM_LEASE_SECONDS", 60.0)
    receipt_deadline_seconds: float = env("RECEIPT_DEADLINE_SECONDS", 86400.0)
    # Altinn notifications (e-mail over SMTP, SMS through an HTTP gateway; README "Notifications")
    notification_templates_dir: str = env(
        "NOTIFICATION_TEMPLATES_DIR", str(Path(__file__).parent / "notification_templates")
    )
    notification_reminder_days: float = env("NOTIFICATION_REMINDER_DAYS", 7.0)
    notification_max_attempts: int = env("NOTIFICATION_MAX_ATTEMPTS", 6)
    inbox_url: str = env("INBOX_URL", "")
    smtp_host: str = env("SMTP_HOST", "127.0.0.1")
    smtp_port: int = env("SMTP_PORT", 8025)
    smtp_starttls: bool = env("SMTP_STARTTLS", False)
    smtp_username: str = env("SMTP_USERNAME", "")
    smtp_password: str = env("SMTP_PASSWORD", "")
    smtp_from: str = env("SMTP_FROM", "ikke-svar@innbyggerpost.invalid")
    sms_gateway_url: str = env("SMS_GATEWAY_URL", SIM_DEFAULT + "/sms")
    sms_gateway_token: str = env("SMS_GATEWAY_TOKEN", "")
    sms_gateway_username: str = env("SMS_GATEWAY_USERNAME", "")
    sms_gateway_password: str = env("SMS_GATEWAY_PASSWORD", "")
    sms_sender: str = env("SMS_SENDER", "Innbygger")
    # Web server (gunicorn, deploy/gunicorn.conf.py)
    bind: str = env("BIND", "127.0.0.1:8080")
    web_workers: int = env("WEB_WORKERS", os.cpu_count() or 1)
    web_threads: int = env("WEB_THREADS", 32)
    web_timeout: int = env("WEB_TIMEOUT", 60)
    access_log: str = env("ACCESS_LOG", "")
    log_level: str = env("LOG_LEVEL", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    log_format: str = env("LOG_FORMAT", "json", lambda raw: _choice("JSON", "TEXT")(raw).lower())
    # Where gunicorn's processes keep their Prometheus counters (prometheus-client multiprocess mode).
    metrics_dir: str = env("METRICS_DIR", "var/metrics")
    # The Altinn copy (issue 16): where it lives (local: our tables and /inbox/; altinn3: Altinn 3
    # Correspondence, clients/altinn3.py), the platform's base URL, the Events webhook's shared secret.
    inbox_backend: str = env("INBOX_BACKEND", "local", lambda raw: _choice("LOCAL", "ALTINN3")(raw).lower())
    altinn3_url: str = env("ALTINN3_URL", SIM_DEFAULT + "/altinn3")
    altinn3_events_secret: str = env("ALTINN3_EVENTS_SECRET", "")
    altinn3_poll_seconds: float = env("ALTINN3_POLL_SECONDS", 300.0)
    altinn3_time_budget_seconds: float = env("ALTINN3_TIME_BUDGET_SECONDS", 30.0)
    # Simulators and tools
    sim_seed: str = env("SIM_SEED", "")
    # the simulators' test certificate authority (simulators/pki.py; TEST ONLY)
    sim_pki_dir: str = env("SIM_PKI_DIR", "var/test-pki")
    owner_password: str = env("OWNER_PASSWORD", "")
    reference_dir: str = env("REFERENCE_DIR", "")
    # Hardening (issue 14; README "Deploying" and "Reliability"). Reverse proxies whose
    # X-Forwarded-For is believed (addresses or networks); empty: the peer address is the client.
    trusted_proxies: tuple[str, ...] = env("TRUSTED_PROXIES", (), _networks)
    # A request's whole body must arrive within this plus its declared size at the minimum rate;
    # each socket read and write must progress within the socket timeout.
    request_body_timeout_seconds: float = env("REQUEST_BODY_TIMEOUT_SECONDS", 10.0)
    request_body_min_rate: int = env("REQUEST_BODY_MIN_RATE", 256 * 1024)
    socket_timeout_seconds: float = env("SOCKET_TIMEOUT_SECONDS", 10.0)
    # /health and /metrics: when set, they answer only with "Authorization: Bearer <token>".
    monitoring_token: str = env("MONITORING_TOKEN", "")
    # Visible From addresses a notification's FromAddress may set (addresses, or @domain); else ours.
    notification_from_addresses: tuple[str, ...] = env("NOTIFICATION_FROM_ADDRESSES", (), _items)

    @property
    def krr_soap_endpoint(self) -> str:
        """The SOAP 16-02 endpoint: ``KRR_SOAP_URL``; unset, with ``KRR_PROTOCOL=soap`` a ``KRR_URL``
        set to something else than the REST simulator (before REST, ``KRR_URL`` named the SOAP
        endpoint: the old name stays an alias); else the SOAP simulator."""
        if self.krr_soap_url:
            return self.krr_soap_url
        if (
            self.krr_protocol == "soap"
            and self.krr_url
            and self.krr_url != SIM_DEFAULT + "/kontaktregisteret"
        ):
            return self.krr_url
        return SIM_DEFAULT + "/krr"

    @property
    def notification_inbox_url(self) -> str:
        """Where notification texts point (``{inbox_url}``): the setting, else PUBLIC_URL + /inbox/."""
        return self.inbox_url or self.public_url.rstrip("/") + "/inbox/"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default: the process environment)."""
    global _environ
    if environ is None:
        return Settings()
    saved, _environ = _environ, environ
    try:
        return Settings()
    finally:
        _environ = saved


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
