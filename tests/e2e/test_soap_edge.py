"""The SOAP edge through the real stack (issue 8): tolerance of unknown elements as WCF, known elements
still validated, load shedding with a busy fault while /health and /metrics keep answering."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from lxml import etree

from service import ns
from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep.exceptions

BASIC_ACTION = (
    '"http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10/'
    'ICorrespondenceAgencyExternalBasic/InsertCorrespondenceBasicV2"'
)
NOTIFICATION = {
    "FromAddress": "post@etat.no",
    "NotificationType": "VarselDPVUtenRevarsel",
    "ReceiverEndPoints": {"ReceiverEndPoint": [{"TransportType": "Email", "ReceiverAddress": "a@b.no"}]},
}
NEWER = "UseServiceOwnerShortNameAsSenderOfSms"  # in Notification of newer Altinn WSDLs


def _basic_envelope(url: str, reference: str, **extra: Any) -> etree._Element:
    client = a._client(a.BASIC_WSDL)
    svc = client.create_service(a.BASIC_BINDING, url)
    corr = a.letter(a.DIGIPOST, Notifications={"Notification": [NOTIFICATION]}, **extra)
    env = client.create_message(svc, "InsertCorrespondenceBasicV2", *a.DEMO[:3], reference, corr)
    return etree.fromstring(etree.tostring(env))


def _post_basic(url: str, env: etree._Element) -> requests.Response:
    body = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": BASIC_ACTION}
    return requests.post(url, data=body, headers=headers, timeout=30)


def _text(resp: requests.Response, local: str) -> str | None:
    found = etree.fromstring(resp.content).find(f".//{{*}}{local}")
    return None if found is None else found.text


def _with_newer_element(env: etree._Element) -> etree._Element:
    notification = env.find(f".//{{{ns.ALTINN_NOTIFICATION_2009_10}}}Notification")
    assert notification is not None
    etree.SubElement(notification, f"{{{ns.ALTINN_NOTIFICATION_2009_10}}}{NEWER}").text = "true"
    return env


# ------------------------------------------------------------------------------------------ tolerance


def test_unknown_element_from_a_newer_wsdl_is_accepted_and_stored(stack: Stack) -> None:
    reference = a.ref("newer")
    resp = _post_basic(stack.basic_url, _with_newer_element(_basic_envelope(stack.basic_url, reference)))
    assert resp.status_code == 200, resp.text[:500]
    assert _text(resp, "ReceiptStatusCode") == "OK"
    assert stack.stored_for(reference)["receipts"] == 1
    assert stack.stored_for(reference)["correspondences"] == 1


def test_known_element_out_of_order_still_faults_and_stores_nothing(stack: Stack) -> None:
    reference = a.ref("order")
    env = _basic_envelope(stack.basic_url, reference)
    content = env.find(f".//{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}Content")
    assert content is not None and len(content) > 2
    moved = content[-1]
    content.insert(0, moved)  # the last known child first
    resp = _post_basic(stack.basic_url, env)
    assert resp.status_code == 500
    message = _text(resp, "AltinnErrorMessage") or ""
    assert "does not validate against the service contract" in message
    assert "not expected" in message, message
    assert stack.stored_for(reference)["receipts"] == 0


def test_wrong_type_of_a_known_element_next_to_an_unknown_one_still_faults(stack: Stack) -> None:
    reference = a.ref("type")
    env = _with_newer_element(_basic_envelope(stack.basic_url, reference))
    visible = env.find(f".//{{{ns.ALTINN_CORRESPONDENCE_2010_10}}}VisibleDateTime")
    assert visible is not None
    visible.text = "not-a-date"
    resp = _post_basic(stack.basic_url, env)
    assert resp.status_code == 500 and "VisibleDateTime" in (_text(resp, "AltinnErrorMessage") or "")
    assert stack.stored_for(reference)["receipts"] == 0


# ------------------------------------------------------------------------------------------ one process


@pytest.fixture(scope="module")
def one_process(stack_with: Any) -> Stack:
    """One web process admitting two SOAP requests (four threads: two reserved), KRR look-ups held by
    the simulator until the test lets them go (no timing decides what is busy)."""
    return stack_with(
        WEB_WORKERS="1",
        WEB_THREADS="2",
        MAX_PENDING_REQUESTS="2",
        KRR_MAX_CONCURRENT_CALLS="2",
        KRR_TIME_BUDGET_SECONDS="60",
    )


def test_unknown_elements_are_counted_per_name_in_metrics(one_process: Stack) -> None:
    s = one_process
    before = s.metric("innbyggerpost_soap_unknown_elements_total")
    for _ in range(2):
        resp = _post_basic(s.basic_url, _with_newer_element(_basic_envelope(s.basic_url, a.ref("count"))))
        assert resp.status_code == 200, resp.text[:300]
    text = requests.get(s.url + "/metrics", timeout=5).text
    assert f'element="Notification/{NEWER}"' in text
    assert s.metric("innbyggerpost_soap_unknown_elements_total") == before + 2


def test_beyond_the_bound_a_busy_fault_while_health_and_metrics_answer(one_process: Stack) -> None:
    s = one_process
    shed_before = s.metric("innbyggerpost_soap_shed_total")
    s.krr_control(reset=True, mode="hold", slow_seconds=120)
    held = {a.ref("held"): a.DIGIPOST, a.ref("held"): a.EBOKS}
    try:
        with ThreadPoolExecutor(2) as pool:
            admitted = [
                pool.submit(a.insert, s.basic_url, r, a.letter(who, a.sdp())) for r, who in held.items()
            ]
            # Busy: both admitted requests wait at KRR. /metrics answering this is itself the proof
            # that a reserved thread serves it while every SOAP slot is taken.
            wait_until(
                lambda: s.metric("innbyggerpost_soap_in_flight") == 2, 30, "two SOAP requests in flight"
            )
            health = s.health()
            assert health["soap"]["in_flight"] == 2 and health["soap"]["limit"] == 2, health

            # A third letter (no KRR look-up needed) is refused at once with the busy fault, Basic: 500.
            shed_ref = a.ref("shed")
            resp = _post_basic(s.basic_url, _basic_envelope(s.basic_url, shed_ref))
            assert resp.status_code == 500 and resp.headers["Retry-After"].isdigit()
            message = _text(resp, "AltinnErrorMessage") or ""
            assert "busy" in message and "Nothing was stored" in message
            assert "same ExternalShipmentReference is safe" in message
            assert _text(resp, "ErrorID") == "0"
            assert s.stored_for(shed_ref)["receipts"] == 0

            # The WS endpoint (SOAP 1.2): 503 with the same fault (the gate runs before authentication).
            ws = requests.post(
                s.ws_url,
                data=b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
                headers={"Content-Type": "application/soap+xml; charset=utf-8"},
                timeout=10,
            )
            assert ws.status_code == 503 and ws.headers["Retry-After"].isdigit()
            assert "busy" in (_text(ws, "AltinnErrorMessage") or "")
            assert _text(ws, "Value") == "env:Receiver"

            assert all(not f.done() for f in admitted), (
                "the shed requests were answered while the others waited"
            )
            s.krr_control(mode="normal")
            receipts = [f.result(60) for f in admitted]
    finally:
        s.krr_control(mode="normal")
    assert [r.ReceiptStatusCode for r in receipts] == ["OK", "OK"]
    assert s.metric("innbyggerpost_soap_shed_total") == shed_before + 2
    # The retry the fault recommends, with the same reference: stored once.
    retry = a.insert(s.basic_url, shed_ref, a.letter(a.DIGIPOST))
    assert retry.ReceiptStatusCode == "OK" and s.stored_for(shed_ref)["receipts"] == 1


def test_busy_fault_reads_as_an_altinn_fault_in_zeep(one_process: Stack) -> None:
    """zeep reads the busy fault's AltinnFault detail on both endpoints (Basic 500, WS 503)."""
    s = one_process
    s.krr_control(reset=True, mode="hold", slow_seconds=120)
    try:
        with ThreadPoolExecutor(2) as pool:
            admitted = [
                pool.submit(a.insert, s.basic_url, a.ref("held"), a.letter(a.DIGIPOST, a.sdp()))
                for _ in range(2)
            ]
            wait_until(
                lambda: s.metric("innbyggerpost_soap_in_flight") == 2, 30, "two SOAP requests in flight"
            )
            with pytest.raises(zeep.exceptions.Fault) as err:
                a.insert(s.basic_url, a.ref("shed"), a.letter(a.DIGIPOST))
            assert "busy" in err.value.message and a.fault_error_id(err.value) == 0
            # SOAP 1.2: the fault comes with HTTP 503, and zeep still reads it.
            with pytest.raises(zeep.exceptions.Fault) as err:
                a.ws(s.ws_url).InsertCorrespondenceV2(
                    SystemUserCode="DEMO",
                    ExternalShipmentReference=a.ref("shed"),
                    Correspondence=a.letter(a.DIGIPOST),
                )
            assert "busy" in err.value.message and a.fault_error_id(err.value) == 0
            s.krr_control(mode="normal")
            for f in admitted:
                f.result(60)
    finally:
        s.krr_control(mode="normal")


# ------------------------------------------------------------------------------ admission by size


@pytest.fixture(scope="module")
def byte_bound(stack_with: Any) -> Stack:
    """One web process admitting 2 MiB of declared request bytes at once (and up to 8 requests)."""
    return stack_with(
        WEB_WORKERS="1",
        WEB_THREADS="8",
        MAX_PENDING_REQUEST_BYTES=str(2 * 1024 * 1024),
        KRR_MAX_CONCURRENT_CALLS="4",
        KRR_TIME_BUDGET_SECONDS="60",
    )


def _big_letter(kib: int) -> dict[str, Any]:
    data = b"%PDF-1.4\n" + bytes(range(256)) * (kib * 4)
    attachment = {"FunctionType": "Unspecified", "FileName": "brev.pdf", "Name": "Brev", "Encrypted": False}
    return a.letter(a.DIGIPOST, a.sdp(), attachments=[{**attachment, "Data": data}])


def test_beyond_the_byte_bound_large_letters_get_the_busy_fault(byte_bound: Stack) -> None:
    """Two letters of ~0.95 MB (declared) are admitted and held at KRR; a third large one would pass
    the 2 MiB bound and gets the busy fault at once (nothing stored); a small letter still gets in
    (the bound is on bytes, not count); once KRR answers, the admitted large letters are stored OK."""
    s = byte_bound
    shed_before = s.metric("innbyggerpost_soap_shed_total")
    s.krr_control(reset=True, mode="hold", slow_seconds=120)
    held = [a.ref("big"), a.ref("big")]
    try:
        with ThreadPoolExecutor(2) as pool:
            admitted = [pool.submit(a.insert, s.basic_url, r, _big_letter(700)) for r in held]
            wait_until(lambda: s.health()["soap"]["in_flight"] == 2, 30, "two large letters in flight")
            soap = s.health()["soap"]
            assert 1_800_000 < soap["bytes_in_flight"] <= soap["byte_limit"] == 2 * 1024 * 1024, soap

            shed_ref = a.ref("big-shed")
            with pytest.raises(zeep.exceptions.Fault) as err:
                a.insert(s.basic_url, shed_ref, _big_letter(700))
            assert "busy" in err.value.message and a.fault_error_id(err.value) == 0
            assert s.stored_for(shed_ref)["receipts"] == 0
            assert s.health()["soap"]["shed_for_bytes"] >= 1

            small = a.ref("small")  # no KRR look-up (no SdpOptions): answered while the big ones wait
            assert a.insert(s.basic_url, small, a.letter(a.DIGIPOST)).ReceiptStatusCode == "OK"
            s.krr_control(mode="normal")
            assert [f.result(60).ReceiptStatusCode for f in admitted] == ["OK", "OK"]
    finally:
        s.krr_control(mode="normal")
    assert all(s.stored_for(r)["receipts"] == 1 for r in held)
    assert s.metric("innbyggerpost_soap_shed_total") >= shed_before + 1
