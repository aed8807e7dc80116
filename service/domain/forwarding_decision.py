"""The forwarding decision of docs/specification.md §2.2, per reportee, after the KRR look-up. Pure: no I/O.

``needs_lookup`` says whether KRR must be asked; ``decide`` turns the request and KRR's answer into
what to store and what to answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .model import CorrespondenceStatus, ReceiptStatus, SdpOptions, SdpSetting, SdpStatus, vendor_name
from .ports import Person

RESERVATION_PHRASE = "the user has opted out from receiving any correspondences"


@dataclass(frozen=True)
class Decision:
    receipt_status: ReceiptStatus
    receipt_text: str
    altinn_status: CorrespondenceStatus | None  # None: no Altinn correspondence is created
    forward: bool  # a forwarding job to the postbox vendor is created
    sdp_status: (
        SdpStatus | None
    )  # final SDP status at insert (Reserved/NoMailBox); None if forwarded/no SdpOptions
    sub_receipt_status: ReceiptStatus | None = None  # set whenever SdpOptions was given
    sub_receipt_text: str | None = None
    vendor_orgnr: str | None = None
    postkasseadresse: str | None = None
    postbox_certificate: bytes | None = None  # KRR's sertifikat (DER), stored for the delivery

    @property
    def stores_letter(self) -> bool:
        return self.altinn_status is not None or self.forward


def needs_lookup(reportee_kind: str, sdp: SdpOptions | None, is_reservable: bool | None) -> bool:
    return reportee_kind == "person" and (sdp is not None or bool(is_reservable))


def _outcome_of(reportee_kind: str, person: Person | None, now: datetime | None) -> str:
    if reportee_kind != "person":
        return "organisation"
    if person is None:
        return "no_postbox"
    if person.reserved:
        return "reserved"
    if person.has_postbox and person.postbox_problem(now) is None:
        return "postbox"
    return "no_postbox"


def decide(
    reportee_kind: str,
    sdp: SdpOptions | None,
    is_reservable: bool | None,
    person: Person | None,
    now: datetime | None = None,
) -> Decision:
    """``now``: to tell an expired postbox certificate (None: not checked)."""
    outcome = _outcome_of(reportee_kind, person, now)
    reservable = bool(is_reservable)
    reserved_text = f"Not delivered: {RESERVATION_PHRASE} (reserved in KRR)."

    if sdp is None:
        if outcome == "reserved" and reservable:
            return Decision(ReceiptStatus.REJECTED, reserved_text, CorrespondenceStatus.RESERVED, False, None)
        return Decision(
            ReceiptStatus.OK,
            "Correspondence created in the Altinn inbox.",
            CorrespondenceStatus.CREATED,
            False,
            None,
        )

    forward_only = sdp.sdp_setting == SdpSetting.FORWARD_ONLY
    if outcome == "postbox":
        assert person is not None
        vendor = f"{vendor_name(person.postkasseleverandoer_adresse)} ({person.postkasseleverandoer_adresse})"
        altinn = None if forward_only else CorrespondenceStatus.CREATED
        text = (
            f"Correspondence accepted for forwarding to {vendor}."
            if forward_only
            else f"Correspondence created in the Altinn inbox and accepted for forwarding to {vendor}."
        )
        return Decision(
            ReceiptStatus.OK,
            text,
            altinn,
            True,
            None,
            ReceiptStatus.OK,
            f"Forwarding queued to {vendor}.",
            person.postkasseleverandoer_adresse,
            person.postkasseadresse,
            person.sertifikat,
        )

    if outcome == "reserved":
        sdp_status = SdpStatus.RESERVED
        why = f"{RESERVATION_PHRASE} (reserved in KRR)"
        reject = reservable or (forward_only and not sdp.backup_altinn)
    else:
        sdp_status = SdpStatus.NO_MAILBOX
        problem = person.postbox_problem(now) if person is not None and outcome != "organisation" else None
        why = (
            "forwarding to a digital postbox is for persons only (the reportee is an organisation)"
            if outcome == "organisation"
            else f"the recipient has no usable digital postbox ({problem})"
            if problem
            else "the recipient has no digital postbox"
        )
        reject = forward_only and not sdp.backup_altinn

    if reject:
        return Decision(
            ReceiptStatus.REJECTED,
            f"Not delivered: {why}. No correspondence was created.",
            None,
            False,
            sdp_status,
            ReceiptStatus.REJECTED,
            f"Not forwarded: {why}.",
        )
    verb = "Forwarding skipped" if not forward_only and outcome != "reserved" else "Not forwarded"
    return Decision(
        ReceiptStatus.OK,
        "Correspondence created in the Altinn inbox.",
        CorrespondenceStatus.CREATED,
        False,
        sdp_status,
        ReceiptStatus.REJECTED,
        f"{verb}: {why}; the letter is in the Altinn inbox.",
    )
