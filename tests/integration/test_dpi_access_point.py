"""The access point client against the DPI simulator (a real ``innbyggerpost simulate`` process, real
sockets, real Maskinporten tokens from its simulator): letters delivered, opened, rejected; a resend
with the same message id delivers nothing twice; transient 503s retried; a slow access point timed
out; 401 renews the token once; 400/403 problem documents give their reason; receipts verified
(a forged one is reported, not applied) and acknowledged."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clients.certificates import load_credentials
from clients.dpi import Digital, LetterBuilder, PackageDocument
from clients.dpi.client import AccessPointClient, AccessPointRejected, AccessPointUnavailable, TokenProvider
from clients.maskinporten import KRR_SCOPES, MaskinportenClient
from simulators.pki import TEST_P12_PASSWORD, TestPki
from tests.support.harness import wait_until
from tests.support.simprocess import SimProcess

OPERATOR = "910646192"
AGENCY = "974760673"  # an agency the operator sends for
DIGIPOST, EBOKS = "984661185", "922020175"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    workdir = Path(tempfile.mkdtemp(prefix="innbyggerpost-dpi-"))
    s = SimProcess(
        workdir,
        {"maskinporten_clients": [{"client_id": "narrow", "orgnr": OPERATOR, "scopes": list(KRR_SCOPES)}]},
    )
    try:
        yield s
    finally:
        s.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def pki(sim: SimProcess) -> TestPki:
    pki = TestPki(sim.pki_dir)
    pki.enterprise(OPERATOR)
    return pki


def tokens(sim: SimProcess, pki: TestPki, client_id: str = "innbyggerpost-demo") -> MaskinportenClient:
    creds = load_credentials(str(pki.p12_path(OPERATOR)), TEST_P12_PASSWORD)
    return MaskinportenClient(f"{sim.url}/maskinporten/", client_id, creds)


def access_point(
    sim: SimProcess, pki: TestPki, provider: TokenProvider | None = None, **kw: object
) -> AccessPointClient:
    options: dict[str, object] = {"connect_timeout": 2.0, "read_timeout": 5.0, "attempts": 3, "backoff": 0.05}
    options.update(kw)
    return AccessPointClient(
        f"{sim.url}/dpi",
        provider or tokens(sim, pki),
        trusted=[pki.ca().certificate],
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def builder(pki: TestPki) -> LetterBuilder:
    pair = pki.enterprise(OPERATOR)
    return LetterBuilder(pair.certificate, pair.private_key, pair.chain)


def send(
    client: AccessPointClient,
    builder: LetterBuilder,
    pki: TestPki,
    postbox: str,
    vendor: str,
    message_id: str | None = None,
    *,
    encrypt_to: str | None = None,
    tamper: bool = False,
    sender: str = OPERATOR,
) -> str:
    mid = message_id or str(uuid.uuid4())
    digital = Digital(sender, vendor, postbox, "Vedtak", operator_orgnr=OPERATOR)
    primary = PackageDocument("brev.pdf", "Vedtak", "application/pdf", b"%PDF-1.4 hei")
    consumer = None if sender == OPERATOR else sender
    postbox_cert = pki.postbox(encrypt_to or vendor).certificate
    now = datetime.now(UTC)
    package = builder.package_signer.package(sender, postbox, primary, [], now)
    from clients.dpi import cms, message

    encrypted = cms.envelope(package, postbox_cert)
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(encrypted + (b"x" if tamper else b"")).digest()).decode()

    def business_message(token: str) -> str:
        return builder.jws_signer.sign(message.digital_message(digital, mid, mid, digest, token, now))

    client.send(business_message, encrypted, mid, consumer_org=consumer)
    return mid


def receipts_for(client: AccessPointClient, mid: str, kinds: Sequence[str]) -> dict[str, object]:
    found: dict[str, object] = {}

    def poll() -> bool:
        for r in client.receipts():
            if r.receipt is not None and r.receipt.conversation_id == mid:
                found[r.receipt.kind] = r
        return all(k in found for k in kinds)

    wait_until(poll, 10, f"receipts {kinds} for {mid}")
    return found


def vendor_stats(sim: SimProcess, vendor: str) -> dict[str, object]:
    return dict(sim.stats()["dpi"]["vendors"][vendor])


def test_delivered_and_opened_then_acknowledged(
    sim: SimProcess, pki: TestPki, builder: LetterBuilder
) -> None:
    client = access_point(sim, pki)
    mid = send(client, builder, pki, "ola.nordmann#1A2B", DIGIPOST)
    assert [s.status for s in client.statuses(mid)] == ["OPPRETTET", "SENDT"]
    found = receipts_for(client, mid, ["leveringskvittering", "aapningskvittering"])
    assert vendor_stats(sim, DIGIPOST)["delivered"][mid] == 1  # type: ignore[index]
    for r in found.values():
        client.mark_read(r.message_id)  # type: ignore[attr-defined]
    left = [r for r in client.receipts() if r.receipt is not None and r.receipt.conversation_id == mid]
    assert left == []
    # a resend with the same message id is taken (409) and delivers nothing again
    send(client, builder, pki, "ola.nordmann#1A2B", DIGIPOST, mid)
    stats = vendor_stats(sim, DIGIPOST)
    assert stats["delivered"][mid] == 1 and stats["arrivals"][mid] == 2  # type: ignore[index]
    assert stats["duplicates"] >= 1  # type: ignore[operator]


def test_on_behalf_of_an_agency(sim: SimProcess, pki: TestPki, builder: LetterBuilder) -> None:
    client = access_point(sim, pki)
    mid = send(client, builder, pki, "kari.nordmann#E0K5", EBOKS, sender=AGENCY)
    receipts_for(client, mid, ["leveringskvittering"])


def test_rejected_by_the_postbox_gives_feil_klient(
    sim: SimProcess, pki: TestPki, builder: LetterBuilder
) -> None:
    client = access_point(sim, pki)
    mid = send(client, builder, pki, "avvist.person#9Z9Z", DIGIPOST)
    feil = receipts_for(client, mid, ["feil"])["feil"].receipt  # type: ignore[attr-defined]
    assert feil.feiltype == "KLIENT" and "refuses" in feil.detaljer


def test_package_the_vendor_cannot_decrypt_gives_feil_klient(
    sim: SimProcess, pki: TestPki, builder: LetterBuilder
) -> None:
    client = access_point(sim, pki)
    mid = send(client, builder, pki, "ola.nordmann#1A2B", DIGIPOST, encrypt_to=EBOKS)
    feil = receipts_for(client, mid, ["feil"])["feil"].receipt  # type: ignore[attr-defined]
    assert "dokumentpakke" in feil.detaljer
    assert mid not in vendor_stats(sim, DIGIPOST)["delivered"]  # type: ignore[operator]


def test_wrong_fingerprint_is_a_400_with_its_reason(
    sim: SimProcess, pki: TestPki, builder: LetterBuilder
) -> None:
    client = access_point(sim, pki)
    with pytest.raises(AccessPointRejected, match="dokumentpakkefingeravtrykk") as exc:
        send(client, builder, pki, "ola.nordmann#1A2B", DIGIPOST, tamper=True)
    assert exc.value.status == 400


def test_token_without_the_scope_is_a_403(sim: SimProcess, pki: TestPki, builder: LetterBuilder) -> None:
    narrow = tokens(sim, pki, "narrow")

    class KrrOnly:
        def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str:
            return narrow.token(KRR_SCOPES)

        def invalidate(self, token: str) -> None:
            narrow.invalidate(token)

    client = access_point(sim, pki, KrrOnly())
    with pytest.raises(AccessPointRejected, match="digitalpostinnbygger:send") as exc:
        client.receipts()
    assert exc.value.status == 403


def test_401_renews_the_token_once(sim: SimProcess, pki: TestPki, builder: LetterBuilder) -> None:
    real = tokens(sim, pki)
    invalidated: list[str] = []

    class StaleFirst:
        stale = True

        def token(self, scopes: Sequence[str], consumer_org: str | None = None) -> str:
            return "not-a-token" if self.stale else real.token(scopes, consumer_org)

        def invalidate(self, token: str) -> None:
            invalidated.append(token)
            self.stale = False

    client = access_point(sim, pki, StaleFirst())
    mid = send(client, builder, pki, "ola.nordmann#1A2B", DIGIPOST)
    assert invalidated == ["not-a-token"]
    assert vendor_stats(sim, DIGIPOST)["arrivals"][mid] == 1  # type: ignore[index]

    class AlwaysStale(StaleFirst):
        def invalidate(self, token: str) -> None:
            invalidated.append(token)

    invalidated.clear()
    with pytest.raises(AccessPointRejected) as exc:
        access_point(sim, pki, AlwaysStale()).receipts()
    assert exc.value.status == 401 and invalidated == ["not-a-token"]  # renewed once, not forever


def test_transient_failures_are_retried(sim: SimProcess, pki: TestPki, builder: LetterBuilder) -> None:
    client = access_point(sim, pki, attempts=3)
    before = vendor_stats(sim, EBOKS)["server_failures"]
    mid = send(client, builder, pki, "ustabil.person#4F4F", EBOKS)
    stats = vendor_stats(sim, EBOKS)
    assert stats["server_failures"] == before + 2 and stats["arrivals"][mid] == 3  # type: ignore[index,operator]
    receipts_for(client, mid, ["leveringskvittering"])
    client2 = access_point(sim, pki, attempts=2)
    mid2 = str(uuid.uuid4())
    with pytest.raises(AccessPointUnavailable, match="503"):
        send(client2, builder, pki, "ustabil.person#4F4F", EBOKS, mid2)
    assert vendor_stats(sim, EBOKS)["arrivals"][mid2] == 2  # type: ignore[index]


def test_slow_access_point_times_out(sim: SimProcess, pki: TestPki, builder: LetterBuilder) -> None:
    client = access_point(sim, pki, read_timeout=0.5, attempts=2)
    mid = str(uuid.uuid4())
    with pytest.raises(AccessPointUnavailable, match="attempt"):
        send(client, builder, pki, "treg.person#7S7S", DIGIPOST, mid)
    wait_until(lambda: vendor_stats(sim, DIGIPOST)["arrivals"].get(mid) == 2, 10, "both attempts arrived")  # type: ignore[attr-defined]


def test_forged_receipt_is_reported_not_trusted(sim: SimProcess, pki: TestPki) -> None:
    client = access_point(sim, pki)
    mid = str(uuid.uuid4())
    queued = sim.post(
        "/_sim/dpi/receipt",
        {
            "vendor": DIGIPOST,
            "sender": OPERATOR,
            "message_id": mid,
            "kind": "leveringskvittering",
            "bad_signature": True,
        },
    )
    bad = [r for r in client.receipts() if r.message_id == queued["receipt_id"]]
    assert len(bad) == 1 and bad[0].receipt is None and "does not verify" in (bad[0].error or "")
    client.mark_read(bad[0].message_id)


def test_postbox_adapter_applies_verified_receipts_only(
    sim: SimProcess, pki: TestPki, caplog: pytest.LogCaptureFixture
) -> None:
    """DpiPostbox (the PostboxVendor the worker uses): a letter through the port, its receipts
    mapped onto the domain's kinds; a forged receipt is logged, not handed on, not acknowledged."""
    from clients.dpi.postbox import DpiPostbox
    from service.domain.ports import DigitalPostMessage, Document, SendStatus

    pair = pki.enterprise(OPERATOR)
    vendor = DpiPostbox(access_point(sim, pki), pair.certificate, pair.private_key, pair.chain, sim.pki_dir)
    mid = str(uuid.uuid4())
    result = vendor.send(
        DigitalPostMessage(
            message_id=mid, conversation_id=mid, sender_orgnr=AGENCY, personidentifikator="01018010018",
            postkasseadresse="ola.nordmann#1A2B", vendor_orgnr=DIGIPOST, title="Vedtak",
            primary=Document("brev.pdf", "Vedtak", "application/pdf", b"%PDF-1.4"),
            postbox_certificate=pki.postbox(DIGIPOST).certificate_der(),
        )
    )  # fmt: skip
    assert result.status == SendStatus.ACCEPTED
    forged = sim.post(
        "/_sim/dpi/receipt",
        {"vendor": DIGIPOST, "sender": OPERATOR, "message_id": mid, "kind": "feil", "bad_signature": True},
    )["receipt_id"]
    got: dict[str, object] = {}

    def pulled() -> bool:
        for r in vendor.pull_receipts(100):
            if r.message_id == mid:
                got[r.kind] = r
        return {"levering", "aapning"} <= set(got)

    wait_until(pulled, 10, "levering and aapning through the port")
    assert "feil" not in got  # the forged feil is not applied
    assert "not applied" in caplog.text and forged in caplog.text
    for r in got.values():
        vendor.acknowledge(r)  # type: ignore[arg-type]
    left = vendor.client.receipts(1000)
    assert [r.message_id for r in left if r.message_id == forged] == [forged]  # kept for the operator
    assert not any(r.receipt is not None and r.receipt.conversation_id == mid for r in left)


def test_postbox_adapter_a_400_rejects_the_letter_with_its_reason(sim: SimProcess, pki: TestPki) -> None:
    from clients.dpi.postbox import DpiPostbox
    from service.domain.ports import DigitalPostMessage, Document, SendStatus

    pair = pki.enterprise(OPERATOR)
    vendor = DpiPostbox(access_point(sim, pki), pair.certificate, pair.private_key, pair.chain)
    mid = str(uuid.uuid4())
    result = vendor.send(
        DigitalPostMessage(
            message_id=mid, conversation_id=mid, sender_orgnr=OPERATOR, personidentifikator="01018010018",
            postkasseadresse="ola.nordmann#1A2B", vendor_orgnr="999999999", title="Vedtak",
            primary=Document("brev.pdf", "Vedtak", "application/pdf", b"%PDF-1.4"),
            postbox_certificate=pki.postbox(DIGIPOST).certificate_der(),
        )
    )  # fmt: skip
    assert result.status == SendStatus.REJECTED
    assert "HTTP 400" in result.detail and "unknown receiver 0192:999999999" in result.detail
    # and without any certificate for the postbox: rejected before anything is sent
    no_cert = vendor.send(
        DigitalPostMessage(
            message_id=str(uuid.uuid4()), conversation_id="c", sender_orgnr=OPERATOR, personidentifikator="01018010018",
            postkasseadresse="ola.nordmann#1A2B", vendor_orgnr=DIGIPOST, title="Vedtak",
            primary=Document("brev.pdf", "Vedtak", "application/pdf", b"%PDF-1.4"),
        )
    )  # fmt: skip
    assert no_cert.status == SendStatus.REJECTED and "no postbox certificate" in no_cert.detail
