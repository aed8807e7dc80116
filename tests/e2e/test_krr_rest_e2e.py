"""The stack looks citizens up in KRR over REST (the default protocol) with a Maskinporten token, and
the citizen's postbox certificate travels with the forwarding: stored for the delivery when there is
a usable one, and without one (none, or expired) the postbox counts as none, with the reason."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from simulators.pki import TestPki
from tests.support import altinn as a
from tests.support.harness import Stack, wait_until

WITHOUT_CERTIFICATE = "14019310087"  # seed: Digipost postbox, KRR gives no certificate
EXPIRED_CERTIFICATE = "14019310168"  # seed: e-Boks postbox, KRR gives an expired certificate


def stored_certificate(stack: Stack, reference: str) -> bytes | None:
    with stack.engine.connect() as c:
        value = c.execute(
            text("SELECT postbox_certificate FROM forwardings WHERE external_shipment_reference=:r"),
            {"r": reference},
        ).scalar_one()
    return None if value is None else bytes(value)


def test_forwarding_looked_up_over_rest_stores_the_postbox_certificate(stack: Stack) -> None:
    before = stack.sim_stats()
    reference = a.ref("krr-rest")
    r = a.insert(stack.basic_url, reference, a.letter(a.DIGIPOST, a.sdp("ForwardOnly", backup=False)))
    assert r.ReceiptStatusCode == "OK", r.ReceiptText
    after = stack.sim_stats()
    http_before, http_after = before["http"]["requests"], after["http"]["requests"]
    assert http_after.get("kontaktregisteret", 0) > http_before.get("kontaktregisteret", 0)
    assert http_after.get("krr", 0) == http_before.get("krr", 0)  # the SOAP endpoint not asked
    assert after["krr"]["calls"] == before["krr"]["calls"] + 1
    # a KRR token per web process at most (2 in the test stack), not one a letter (the delivery
    # workers ask for DPI tokens of their own meanwhile)
    krr_scopes = "krr:global/digitalpost.read krr:global/kontaktinformasjon.read"
    krr_tokens = after["maskinporten"]["tokens_by_scope"].get(krr_scopes, 0)
    assert krr_tokens >= 1
    assert krr_tokens - before["maskinporten"]["tokens_by_scope"].get(krr_scopes, 0) <= 2
    expected = TestPki(stack.pki_dir).postbox("984661185").certificate_der()
    assert stored_certificate(stack, reference) == expected


def test_postbox_without_certificate_is_no_postbox(stack: Stack) -> None:
    reference = a.ref("krr-nocert")
    r = a.insert(stack.basic_url, reference, a.letter(WITHOUT_CERTIFICATE, a.sdp("ForwardOnly", backup=True)))
    assert r.ReceiptStatusCode == "OK", r.ReceiptText  # BackupAltinn: the Altinn inbox instead
    (sub,) = r.SubReceipts.ReceiptExternal
    assert sub.ReceiptStatusCode == "Rejected"
    assert "no usable digital postbox" in sub.ReceiptText and "no certificate" in sub.ReceiptText
    assert a.sdp_history(stack.basic_url, reference) == ["NoMailBox"]
    assert stored_certificate(stack, reference) is None
    assert [
        c.StatusType for c in a.altinn_statuses(stack.basic_url, reference)[0].StatusChanges.StatusChangeV2
    ] == ["Created"]


def test_expired_postbox_certificate_is_no_postbox(stack: Stack) -> None:
    reference = a.ref("krr-expired")
    r = a.insert(
        stack.basic_url, reference, a.letter(EXPIRED_CERTIFICATE, a.sdp("ForwardOnly", backup=False))
    )
    assert r.ReceiptStatusCode == "Rejected"
    (sub,) = r.SubReceipts.ReceiptExternal
    assert "expired on" in sub.ReceiptText
    assert a.sdp_history(stack.basic_url, reference) == ["NoMailBox"]
    assert stored_certificate(stack, reference) is None


def test_soap_protocol_still_selectable(stack_with: Callable[..., Stack]) -> None:
    s = stack_with(KRR_PROTOCOL="soap").ensure_worker()
    reference = a.ref("krr-soap")
    r = a.insert(s.basic_url, reference, a.letter(a.DIGIPOST, a.sdp("ForwardOnly", backup=False)))
    assert r.ReceiptStatusCode == "OK", r.ReceiptText
    requests = s.sim_stats()["http"]["requests"]
    assert requests.get("krr", 0) >= 1 and requests.get("kontaktregisteret", 0) == 0
    # 16-02's X509Sertifikat: the same certificate, stored the same way
    assert stored_certificate(s, reference) == TestPki(s.pki_dir).postbox("984661185").certificate_der()
    history = wait_until(
        lambda: (h := a.sdp_history(s.basic_url, reference)) and h[-1] == "Delivered_EndUser" and h,
        30,
        "delivery",
    )
    # (the seed's Digipost citizen opens it: an aapningskvittering may add a Delivered_EndUser entry)
    assert history[:2] == ["Sent_Meldingsformidler", "Delivered_EndUser"]
