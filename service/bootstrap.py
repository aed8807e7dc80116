"""The composition root (after cosmicpython's ``bootstrap.py``): the one place that builds the object
graph. The web application, the delivery worker, the command line, the migrations and the tests all
get their parts here; tests pass fakes for any of them.

    container = bootstrap()                      # settings from the environment
    container = bootstrap(settings, registry=FakeRegistry())

Parts are built when first asked for (a CLI command that only migrates never builds a KRR client).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from .adapters.db import NotDurable, check_durability, make_engine
from .adapters.krr_gateway import CircuitBreaker, KrrGateway
from .config import Settings, load
from .domain.ports import AltinnInbox, ContactRegistry, PostboxVendor
from .service_layer.group_commit import GroupCommit
from .service_layer.owners import Authenticator, LoginThrottle, SecretBox
from .service_layer.unit_of_work import UnitOfWorkFactory, unit_of_work_factory

log = logging.getLogger(__name__)


class Container:
    """The parts of one process. Each property builds its part once, on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        uow_factory: UnitOfWorkFactory | None = None,
        krr_client: ContactRegistry | None = None,
        registry: ContactRegistry | None = None,
        vendor: PostboxVendor | None = None,
        maskinporten: Any | None = None,
        check_database: bool = True,
    ) -> None:
        self.settings = settings
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._check_database = check_database
        for name, value in (
            ("engine", engine),
            ("uow_factory", uow_factory),
            ("krr_client", krr_client),
            ("registry", registry),
            ("vendor", vendor),
            ("maskinporten", maskinporten),
        ):
            if value is not None:
                self._parts[name] = value

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]

    @property
    def engine(self) -> Engine:
        return self._part("engine", self._build_engine)

    def _build_engine(self) -> Engine:
        s = self.settings
        engine = make_engine(s.database_url, s.sqlite_synchronous)
        if self._check_database and s.require_durable_database:
            problems = check_durability(engine)
            if problems:
                raise NotDurable(
                    "the database would acknowledge commits it can lose ("
                    + ", ".join(problems)
                    + "): an OK receipt must be on disk. Fix the database settings, or set "
                    "INNBYGGERPOST_REQUIRE_DURABLE_DATABASE=false for tests only."
                )
        return engine

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self._part("uow_factory", lambda: unit_of_work_factory(self.engine))

    @property
    def krr_client(self) -> ContactRegistry:
        """The KRR client (REST with a Maskinporten token; SOAP 16-02 with KRR_PROTOCOL=soap), its
        timeouts fitted into the look-up time budget."""

        def build() -> ContactRegistry:
            s = self.settings
            budget = s.krr_time_budget_seconds
            fitted = dataclasses.replace(s, read_timeout=min(s.read_timeout, budget))
            if s.krr_protocol == "soap":
                from clients.krr import KrrClient

                return KrrClient(fitted)
            from clients.krr_rest import KrrRestClient

            # the Maskinporten client (and the certificate) on the first look-up, not at start: a
            # service without a certificate still takes letters that need no KRR, and a look-up
            # faults naming the setting to fix
            return KrrRestClient(fitted, _LazyTokens(self))

        return self._part("krr_client", build)

    @property
    def registry(self) -> KrrGateway | ContactRegistry:
        """What use cases ask KRR through: the gateway (batching, budget, circuit breaker)."""
        s = self.settings
        return self._part(
            "registry",
            lambda: KrrGateway(
                self.krr_client,
                batch_size=s.krr_batch_size,
                batch_wait=s.krr_batch_wait_seconds,
                batch_ready=s.krr_batch_ready_ids,
                max_concurrent_calls=s.krr_max_concurrent_calls,
                time_budget=s.krr_time_budget_seconds,
                breaker=CircuitBreaker(s.krr_breaker_failures, s.krr_breaker_cooldown_seconds),
            ),
        )

    @property
    def credentials(self) -> Any:
        """The enterprise certificate and key (``clients.certificates.Credentials``), loaded once."""

        def build() -> Any:
            from clients.certificates import load_credentials

            s = self.settings
            if not s.certificate_file and s.demo_mode:
                # demo mode (make run, the test stacks) without a certificate: the simulators' test
                # PKI's operator certificate, which the simulated Maskinporten trusts. TEST ONLY.
                from simulators.pki import TEST_P12_PASSWORD, TestPki

                from .config import DEMO_OPERATOR_ORGNR

                pki = TestPki(s.sim_pki_dir)
                pki.enterprise(DEMO_OPERATOR_ORGNR)
                log.warning(
                    "demo mode: signing with the TEST certificate %s", pki.p12_path(DEMO_OPERATOR_ORGNR)
                )
                return load_credentials(pki.p12_path(DEMO_OPERATOR_ORGNR), TEST_P12_PASSWORD)
            return load_credentials(s.certificate_file, s.certificate_password)

        return self._part("credentials", build)

    @property
    def maskinporten(self) -> Any:
        """The process's one ``clients.maskinporten.MaskinportenClient`` (its token cache is shared by
        every thread and every adapter: KRR, DPI, Altinn 3)."""

        def build() -> Any:
            from clients.maskinporten import MaskinportenClient

            s = self.settings
            return MaskinportenClient(
                s.maskinporten_url,
                s.maskinporten_client_id,
                self.credentials,
                kid=s.maskinporten_kid or None,
                connect_timeout=s.connect_timeout,
                read_timeout=s.read_timeout,
                attempts=s.call_attempts,
                backoff=s.call_backoff,
            )

        return self._part("maskinporten", build)

    @property
    def altinn_inbox(self) -> AltinnInbox:
        """Where the Altinn copy lives (INNBYGGERPOST_INBOX_BACKEND): our tables, or Altinn 3."""

        def build() -> AltinnInbox:
            if self.settings.inbox_backend == "altinn3":
                from clients.altinn3 import Altinn3Inbox

                return Altinn3Inbox.from_settings(self.settings, self.maskinporten)
            from .adapters.local_inbox import LocalInbox

            return LocalInbox()

        return self._part("altinn_inbox", build)

    @property
    def vendor(self) -> PostboxVendor:
        return self._part("vendor", self._dpi_postbox)

    def _dpi_postbox(self) -> PostboxVendor:
        """DPI through the access point (clients/dpi), with the enterprise certificate and the shared
        Maskinporten client."""
        from cryptography import x509

        from clients.dpi.client import AccessPointClient
        from clients.dpi.postbox import DpiPostbox

        s = self.settings
        ca_file = Path(s.dpi_trusted_ca_file or Path(s.sim_pki_dir) / "ca.pem")
        try:
            trusted = x509.load_pem_x509_certificates(ca_file.read_bytes())
        except (OSError, ValueError) as exc:
            raise RuntimeError(
                f"INNBYGGERPOST_DPI_TRUSTED_CA_FILE: cannot read CA certificates from {ca_file}: {exc}"
            ) from exc
        client = AccessPointClient(
            s.dpi_url,
            self.maskinporten,
            trusted=trusted,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            attempts=s.call_attempts,
            backoff=s.call_backoff,
            kanal=s.dpi_kanal or None,
            pool_size=s.worker_concurrency + 8,
        )
        creds = self.credentials
        return DpiPostbox(
            client,
            creds.certificate,
            creds.private_key,
            creds.chain,
            postbox_certificate_dir=s.dpi_postbox_certificate_dir or None,
        )

    @property
    def secret_box(self) -> SecretBox:
        return self._part("secret_box", lambda: SecretBox(self.settings.secret_key_file))

    @property
    def authenticator(self) -> Authenticator:
        s = self.settings
        return self._part(
            "authenticator",
            lambda: Authenticator(
                self.uow_factory,
                self.secret_box,
                LoginThrottle(
                    s.login_failures_max,
                    s.login_failure_window_seconds,
                    s.login_lockout_seconds,
                    good_seconds=Authenticator.CACHE_SECONDS,
                ),
                s.password_hash_concurrency,
                s.login_refusal_delay_seconds,
            ),
        )

    @property
    def writer(self) -> GroupCommit:
        return self._part(
            "writer",
            lambda: GroupCommit(self.uow_factory, self.settings.write_batch_max),
        )

    def dispose(self) -> None:
        engine = self._parts.get("engine")
        if engine is not None:
            engine.dispose()


class _LazyTokens:
    """The container's Maskinporten client, built when a token is first asked for."""

    def __init__(self, container: Container) -> None:
        self._container = container

    @property
    def client_id(self) -> str:
        return self._container.settings.maskinporten_client_id

    def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str:
        return str(self._container.maskinporten.token(scopes, consumer_org))

    def invalidate(self, token: str) -> None:
        self._container.maskinporten.invalidate(token)


def bootstrap(settings: Settings | None = None, **parts: Any) -> Container:
    """The parts of a process; any part given (``engine``, ``uow_factory``, ``krr_client``,
    ``registry``, ``vendor``) is used instead of the real one."""
    return Container(settings or load(), **parts)
