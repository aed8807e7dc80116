"""SOAP edge pieces without processes: tolerance, load shedding, storage faults, write outcomes, spyne fixes."""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
import time
import warnings
from typing import Any

import pytest
import sqlalchemy.exc
from lxml import etree

from service import ns
from service.entrypoints.soap import faults
from service.entrypoints.soap.health import WriteOutcomes
from service.entrypoints.soap.operations import VARIANTS
from service.entrypoints.soap.shedding import AdmissionGate, Shedding
from service.entrypoints.soap.tolerance import MAX_NAMES, OTHER, UnknownElements
from tests.support.reference import BASIC_WSDL, altinn_reference

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from spyne import Application

    from service.entrypoints.soap.handlers import Context
    from service.entrypoints.soap.protocol import AltinnSoap11
    from service.entrypoints.soap.services import build_service
    from tests.support import altinn as a

NOTIFICATION = {
    "FromAddress": "post@etat.no",
    "NotificationType": "VarselDPVUtenRevarsel",
    "ReceiverEndPoints": {"ReceiverEndPoint": [{"TransportType": "Email", "ReceiverAddress": "a@b.no"}]},
}


def _insert_body() -> etree._Element:
    """The Body's operation element of a zeep-rendered InsertCorrespondenceBasicV2 with a Notification."""
    altinn_reference(BASIC_WSDL)
    client = a._client(a.BASIC_WSDL)
    svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1:1/x")
    corr = a.letter(a.DIGIPOST, Notifications={"Notification": [NOTIFICATION]})
    env = client.create_message(svc, "InsertCorrespondenceBasicV2", "u", "p", "DEMO", "ref-1", corr)
    env = etree.fromstring(etree.tostring(env))
    return env.find(f"{{{ns.SOAP11_ENV}}}Body")[0]


def _canon(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n")


# ------------------------------------------------------------------------------------------ tolerance


def test_unknown_element_in_a_notification_is_removed_counted_and_logged_once(caplog: Any) -> None:
    body = _insert_body()
    notification = body.find(f".//{{{ns.ALTINN_NOTIFICATION_2009_10}}}Notification")
    assert notification is not None
    before = _canon(body)
    etree.SubElement(
        notification, f"{{{ns.ALTINN_NOTIFICATION_2009_10}}}UseServiceOwnerShortNameAsSenderOfSms"
    ).text = "true"
    unknown = UnknownElements(*VARIANTS.values())
    with caplog.at_level(logging.WARNING, logger="service.entrypoints.soap.tolerance"):
        assert unknown.strip(body) == 1
        again = _insert_body()
        n2 = again.find(f".//{{{ns.ALTINN_NOTIFICATION_2009_10}}}Notification")
        etree.SubElement(n2, f"{{{ns.ALTINN_NOTIFICATION_2009_10}}}UseServiceOwnerShortNameAsSenderOfSms")
        assert unknown.strip(again) == 1
    assert _canon(body) == before, "exactly the unknown element is removed, every known one is kept"
    assert unknown.snapshot() == {"Notification/UseServiceOwnerShortNameAsSenderOfSms": 2}
    logged = [r for r in caplog.records if "UseServiceOwnerShortNameAsSenderOfSms" in r.getMessage()]
    assert len(logged) == 1


def test_known_elements_are_never_removed_whatever_their_order() -> None:
    body = _insert_body()
    content = body.find(f".//{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}Content")
    assert content is not None and len(content) >= 2
    content.insert(0, content[-1])  # a known element out of order: left for schema validation to refuse
    before = _canon(body)
    assert UnknownElements(*VARIANTS.values()).strip(body) == 0
    assert _canon(body) == before


def test_unknown_operation_and_element_in_other_namespace() -> None:
    unknown = UnknownElements(*VARIANTS.values())
    other = etree.fromstring(b"<x:NoSuchOperation xmlns:x='urn:x'><x:a/></x:NoSuchOperation>")
    assert unknown.strip(other) == 0 and len(other) == 1, "unknown operations are spyne's to refuse"
    body = _insert_body()
    # A known local name in a foreign namespace is not the contract's element.
    etree.SubElement(body, "{urn:newer}ExternalShipmentReference")
    assert unknown.strip(body) == 1


def test_remembered_names_are_bounded() -> None:
    unknown = UnknownElements(*VARIANTS.values())
    body = _insert_body()
    for i in range(MAX_NAMES + 5):
        etree.SubElement(body, f"{{urn:x}}Invented{i}")
        unknown.strip(body)
    counts = unknown.snapshot()
    assert len(counts) == MAX_NAMES + 1 and counts[OTHER] == 5


# ------------------------------------------------------------------------------------------ spyne fix


def test_no_operation_wrapper_class_is_customised() -> None:
    """The cause of spyne's "seems to be a customized class" per response (spyne_compat.py item 6)."""
    ctx = Context(settings=None, uow_factory=None, registry=None, authenticator=None, ws_authenticate=None)  # type: ignore[arg-type]
    for key, variant in VARIANTS.items():
        app = Application(
            [build_service(ctx, key)],
            tns=variant.target_namespace,
            in_protocol=AltinnSoap11(),
            out_protocol=AltinnSoap11(),
        )
        methods = [m for ms in app.interface.service_method_map.values() for m in ms]
        assert len(methods) == len(variant.operations)
        for m in methods:
            assert m.out_message.__orig__ is None, f"{m.name}: response wrapper is a customised class"


# ------------------------------------------------------------------------------------------ shedding


def _call(app: Any, body: bytes = b"<x/>") -> tuple[str, dict[str, str], bytes]:
    import io

    seen: list[Any] = []
    environ = {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    out = b"".join(app(environ, lambda status, headers, exc=None: seen.append((status, headers))))
    return seen[0][0], dict(seen[0][1]), out


@pytest.mark.parametrize(("version", "status"), [("1.1", "500"), ("1.2", "503")])
def test_beyond_the_bound_a_busy_fault_at_once(version: faults.SoapVersion, status: str) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(environ: Any, start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(10)
        start_response("200 OK", [])
        return [b"done"]

    gate = AdmissionGate(1)
    app = Shedding(slow, gate, version)
    results: list[Any] = []
    t = threading.Thread(target=lambda: results.append(_call(app)))
    t.start()
    assert entered.wait(10)
    try:
        code, headers, body = _call(app)
    finally:
        release.set()
        t.join(10)
    assert code.startswith(status) and headers["Retry-After"].isdigit()
    err = etree.fromstring(body).find(f".//{{{ns.ALTINN_FAULT_2009_10}}}AltinnErrorMessage")
    assert err is not None and "busy" in err.text and "same ExternalShipmentReference" in err.text
    assert results[0][0] == "200 OK" and gate.snapshot()["shed"] == 1 and gate.in_flight == 0


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_the_busy_fault_is_pre_rendered_with_a_fresh_error_guid_each(
    version: faults.SoapVersion, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal splices a new ErrorGuid into the pre-rendered fault (the rest byte for byte the
    fault_response of a busy fault), and a crowd's refusals are logged as one line with a count."""
    gate = AdmissionGate(1)
    gate.try_enter()  # the only slot taken
    app = Shedding(lambda e, s: [b""], gate, version)
    with caplog.at_level(logging.WARNING, logger="service.entrypoints.soap.shedding"):
        answers = [_call(app) for _ in range(50)]
    guid = f"{{{ns.ALTINN_FAULT_2009_10}}}ErrorGuid"
    guids = [etree.fromstring(body).find(f".//{guid}").text for _, _, body in answers]
    assert len(set(guids)) == 50
    err = faults.busy_fault()
    status, headers, expected = faults.fault_response(version, err, busy_retry_after=2)
    code, got_headers, body = answers[-1]
    assert code == status and got_headers == dict(headers)
    assert body == expected.replace(err.error_guid.encode(), guids[-1].encode())
    lines = [r for r in caplog.records if r.getMessage().startswith("busy:")]
    assert 1 <= len(lines) < 50 and getattr(lines[0], "error_guid", None) == guids[0]


# ------------------------------------------------------------------------------------------ storage faults


def _wrapped(orig: BaseException) -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_wrapped(sqlite3.OperationalError("database or disk is full")), "disk_full"),
        (_wrapped(sqlite3.OperationalError("unable to open database file")), "database_unavailable"),
        (ConnectionRefusedError(111, "Connection refused"), "database_unavailable"),
        (OSError(28, "No space left on device"), "disk_full"),
        (ValueError("no"), None),
    ],
)
def test_storage_error_kinds(exc: BaseException, kind: str | None) -> None:
    assert faults.storage_error_kind(exc) == kind
    err = faults.from_exception(exc)
    assert err.error_id == 0 and not err.client
    if kind is None:
        assert err.message == faults.GENERIC_SERVER_MESSAGE
    else:
        assert "Nothing was stored" in err.message and "same ExternalShipmentReference is safe" in err.message
        assert err.extended == kind


def test_postgresql_disk_full_by_sqlstate() -> None:
    psycopg_errors = pytest.importorskip("psycopg.errors")
    assert (
        faults.storage_error_kind(_wrapped(psycopg_errors.DiskFull("could not extend file"))) == "disk_full"
    )
    assert faults.storage_error_kind(_wrapped(psycopg_errors.OperationalError("connection refused"))) == (
        "database_unavailable"
    )


def test_write_outcomes_turn_health_red_while_recent_writes_fail() -> None:
    now = [100.0]
    w = WriteOutcomes(window=30, clock=lambda: now[0])
    assert w.status()[0]
    w.failed("disk_full")
    healthy, detail = w.status()
    assert not healthy and detail["last_write"] == "failed: disk_full"
    w.succeeded()
    assert w.status()[0]
    w.failed("database_unavailable")
    now[0] += 31
    assert w.status()[0], "a failure older than the window no longer counts"


class _Unread:
    """A request body that fails the test if anyone reads it (the gate decides before reading)."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body of a shed request was read")

    readline = read


def test_beyond_the_byte_bound_a_busy_fault_before_the_body_is_read() -> None:
    """Admission by declared size (issue 17): held requests of 600 + 300 bytes under a bound of
    1 000; one more of 200 is shed without its body being read, one of 100 is admitted, and a
    chunked body (no Content-Length) is charged the request size limit."""
    release = threading.Event()
    entered: list[int] = []

    def slow(environ: Any, start_response: Any) -> list[bytes]:
        entered.append(int(environ.get("CONTENT_LENGTH") or -1))
        release.wait(10)
        start_response("200 OK", [])
        return [b"done"]

    gate = AdmissionGate(10, byte_limit=1000)
    app = Shedding(slow, gate, "1.1", max_request_bytes=5000)

    def call(size: int | None, body: Any = None) -> tuple[str, dict[str, str], bytes]:
        seen: list[Any] = []
        environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "wsgi.input": body or _Unread()}
        if size is not None:
            environ["CONTENT_LENGTH"] = str(size)
        out = b"".join(app(environ, lambda status, headers, exc=None: seen.append((status, headers))))
        return seen[0][0], dict(seen[0][1]), out

    held = [threading.Thread(target=call, args=(n,)) for n in (600, 300)]
    for t in held:
        t.start()
    try:
        deadline = time.monotonic() + 10
        while gate.snapshot()["bytes_in_flight"] < 900 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gate.snapshot()["bytes_in_flight"] == 900 and gate.in_flight == 2
        code, headers, body = call(200)
        assert code.startswith("500") and headers["Retry-After"].isdigit()
        assert b"busy" in body and gate.snapshot()["shed_for_bytes"] == 1
        code, _, _ = call(None)  # chunked: charged 5 000, capped at the bound: no room
        assert code.startswith("500") and gate.snapshot()["shed_for_bytes"] == 2
        small = threading.Thread(target=call, args=(100,))
        small.start()
        deadline = time.monotonic() + 10
        while len(entered) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(entered) == [100, 300, 600] and gate.snapshot()["bytes_in_flight"] == 1000
    finally:
        release.set()
        for t in held:
            t.join(10)
    small.join(10)
    snap = gate.snapshot()
    assert snap["bytes_in_flight"] == 0 and snap["in_flight"] == 0 and snap["peak_bytes"] == 1000
    # alone, a request larger than the bound is charged the bound and admitted
    release.set()
    code, _, _ = call(4000, io.BytesIO(b"x" * 4000))
    assert code == "200 OK" and gate.snapshot()["bytes_in_flight"] == 0
