"""Small hardening rules of issue 14 that need no process: log lines bounded, KRR's error text kept
from the owner, the SQLite file private, the WSGI root's method label and monitoring token."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
from pathlib import Path

from service import logs
from service.adapters.db import make_engine
from service.domain.ports import RegistryUnavailable
from service.entrypoints.soap.handlers import krr_reason
from service.entrypoints.soap.wsgi import method_label


def test_a_huge_log_message_is_cut() -> None:
    logs.configure("INFO", "json")
    handler = logging.getLogger().handlers[0]
    buf = io.StringIO()
    handler.setStream(buf)  # type: ignore[attr-defined]
    logging.getLogger("t").info("schema fault: %s", "x" * 64_000)
    line = buf.getvalue().strip()
    assert len(line) < logs.MAX_MESSAGE + 500
    assert "more characters" in json.loads(line)["message"]


def test_the_owner_never_sees_krrs_own_error_text() -> None:
    raw = RegistryUnavailable("KRR answer inconsistent for a batch of 3 ids: missing (first: 01018010018)")
    assert krr_reason(raw) == "KRR's answer did not fit its contract"
    assert "01018010018" not in krr_reason(RegistryUnavailable("KRR call failed: secret 01018010018"))


def test_the_sqlite_file_is_created_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
        with engine.connect():
            pass
        engine.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "db.sqlite").stat().st_mode) == 0o600


def test_invented_http_methods_share_one_metrics_label() -> None:
    assert method_label("POST") == "POST"
    assert method_label("X" * 1000) == "other"


def test_a_notification_from_address_must_be_allowed() -> None:
    from service.domain.notifications import visible_sender

    allowed = ("post@etaten.no", "@kommune.no")
    assert visible_sender("post@etaten.no", allowed) == "post@etaten.no"
    assert visible_sender("Skatt@Kommune.no", allowed) == "Skatt@Kommune.no"
    assert visible_sender("ceo@bank.example", allowed) is None
    assert visible_sender("post@etaten.no\r\nBcc: x@y.z", allowed) is None
    assert visible_sender("post@etaten.no", ()) is None  # nothing configured: always our own sender


def test_schema_fault_texts_are_logged_without_the_values_they_quote() -> None:
    from service.entrypoints.soap.faults import without_values

    text = "Element 'MessageBody': [facet 'maxLength'] The value '" + "brev " * 13_000 + "' is too long"
    logged = without_values(text)
    assert len(logged) < 200 and "Element 'MessageBody'" in logged and "brev brev" in logged
