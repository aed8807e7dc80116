"""Settings from environment variables (all documented in README.md, section Configuration)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def _vendor_endpoints(raw: str) -> dict[str, str]:
    """``984661185=http://host/a,922020175=http://host/b`` -> {orgnr: url}."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        orgnr, _, url = item.partition("=")
        out[orgnr.strip()] = url.strip()
    return out


SIM_DEFAULT = "http://127.0.0.1:8090"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: _env("INNBYGGERPOST_DATABASE_URL", "sqlite:///var/innbyggerpost.db")
    )
    public_url: str = field(default_factory=lambda: _env("INNBYGGERPOST_PUBLIC_URL", "http://127.0.0.1:8080"))
    max_request_bytes: int = field(
        default_factory=lambda: _int("INNBYGGERPOST_MAX_REQUEST_BYTES", 30 * 1024 * 1024)
    )
    status_result_limit: int = field(default_factory=lambda: _int("INNBYGGERPOST_STATUS_RESULT_LIMIT", 1000))
    # Fernet key file protecting the stored PasswordDigest secrets (created when absent).
    secret_key_file: str = field(
        default_factory=lambda: _env("INNBYGGERPOST_SECRET_KEY_FILE", "var/secret.key")
    )
    wsse_max_age_seconds: int = field(default_factory=lambda: _int("INNBYGGERPOST_WSSE_MAX_AGE_SECONDS", 300))
    # KRR (oppslagstjeneste 16-02)
    krr_url: str = field(default_factory=lambda: _env("INNBYGGERPOST_KRR_URL", SIM_DEFAULT + "/krr"))
    krr_paa_vegne_av: str = field(default_factory=lambda: _env("INNBYGGERPOST_KRR_PAA_VEGNE_AV", ""))
    krr_cert_file: str = field(default_factory=lambda: _env("INNBYGGERPOST_KRR_CERT_FILE", ""))
    krr_key_file: str = field(default_factory=lambda: _env("INNBYGGERPOST_KRR_KEY_FILE", ""))
    krr_batch_size: int = field(default_factory=lambda: _int("INNBYGGERPOST_KRR_BATCH_SIZE", 1000))
    # Postbox vendors: orgnr=url,...
    vendor_endpoints: dict[str, str] = field(
        default_factory=lambda: _vendor_endpoints(
            _env(
                "INNBYGGERPOST_VENDOR_ENDPOINTS",
                f"984661185={SIM_DEFAULT}/postbox/984661185,"
                f"922020175={SIM_DEFAULT}/postbox/922020175,"
                f"996460320={SIM_DEFAULT}/postbox/996460320",
            )
        )
    )
    # Outbound calls
    connect_timeout: float = field(default_factory=lambda: _float("INNBYGGERPOST_CONNECT_TIMEOUT", 3.0))
    read_timeout: float = field(default_factory=lambda: _float("INNBYGGERPOST_READ_TIMEOUT", 10.0))
    call_attempts: int = field(default_factory=lambda: _int("INNBYGGERPOST_CALL_ATTEMPTS", 3))
    call_backoff: float = field(default_factory=lambda: _float("INNBYGGERPOST_CALL_BACKOFF", 0.2))
    # Delivery worker
    worker_concurrency: int = field(default_factory=lambda: _int("INNBYGGERPOST_WORKER_CONCURRENCY", 8))
    worker_poll_seconds: float = field(
        default_factory=lambda: _float("INNBYGGERPOST_WORKER_POLL_SECONDS", 0.5)
    )
    delivery_max_attempts: int = field(default_factory=lambda: _int("INNBYGGERPOST_DELIVERY_MAX_ATTEMPTS", 6))
    delivery_backoff_seconds: float = field(
        default_factory=lambda: _float("INNBYGGERPOST_DELIVERY_BACKOFF_SECONDS", 2.0)
    )
    delivery_backoff_max_seconds: float = field(
        default_factory=lambda: _float("INNBYGGERPOST_DELIVERY_BACKOFF_MAX_SECONDS", 600.0)
    )
    claim_lease_seconds: float = field(
        default_factory=lambda: _float("INNBYGGERPOST_CLAIM_LEASE_SECONDS", 60.0)
    )
    receipt_deadline_seconds: float = field(
        default_factory=lambda: _float("INNBYGGERPOST_RECEIPT_DEADLINE_SECONDS", 86400.0)
    )


def load() -> Settings:
    return Settings()


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
