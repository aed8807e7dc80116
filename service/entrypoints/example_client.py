"""``innbyggerpost example``: what a service owner's system does, with zeep and our published WSDL.

Builds the client from ``<url>/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc?wsdl``,
sends one ``InsertCorrespondenceBasicV2`` with a small PDF, prints the receipt, and with ``--wait``
polls ``GetCorrespondenceStatusDetailsBasicV3`` until the forwarding has a final status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
from typing import Any

import zeep

MODES: dict[str, dict[str, Any] | None] = {
    "altinn": None,
    "forward-only": {"SdpSetting": "ForwardOnly", "BackupAltinn": False},
    "fallback": {"SdpSetting": "ForwardOnly", "BackupAltinn": True},
    "copy": {"SdpSetting": "CopyAltinn"},
}
FINAL = {"Delivered_EndUser", "Delivery_EndUser_Failed", "Reserved", "NoMailBox"}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def print_altinn_status(svc: Any, args: argparse.Namespace, reference: str) -> int:
    """The Altinn inbox copy's StatusChanges as GetCorrespondenceStatusDetailsBasicV3 reports them."""
    result = svc.GetCorrespondenceStatusDetailsBasicV3(
        args.user,
        args.password,
        {
            "ServiceCode": args.service_code,
            "ServiceEditionCode": args.service_edition,
            "SendersReference": reference,
        },
    )
    info = result.CorrespondenceStatusInformation
    items = (
        info.CorrespondenceStatusDetailsList.StatusV2 if info and info.CorrespondenceStatusDetailsList else []
    )
    if not items:
        print(f"no Altinn inbox copy for {reference} (service {args.service_code}:{args.service_edition})")
        return 1
    for item in items:
        changes = item.StatusChanges.StatusChangeV2 if item.StatusChanges else []
        print(f"CorrespondenceID {item.CorrespondenceID} to {item.Reportee}:")
        for change in changes:
            print(f"  {change.StatusDate:%Y-%m-%d %H:%M:%S}  {change.StatusType}")
    return 0


def main(args: argparse.Namespace) -> int:
    wsdl = args.url.rstrip("/") + "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc?wsdl"
    svc = zeep.Client(wsdl).service
    if args.altinn_status:
        return print_altinn_status(svc, args, args.altinn_status)
    reference = args.reference or f"example-{uuid.uuid4().hex[:12]}"
    now = dt.datetime.now(dt.UTC)
    sdp = MODES[args.mode]
    if sdp is not None:
        sdp = {**sdp, "PrimaryDocumentFileName": "vedtak.pdf", "NotSensitiveTitle": "Brev fra Demoetaten"}
    correspondence = {
        "ServiceCode": args.service_code,
        "ServiceEdition": str(args.service_edition),
        "Reportee": args.reportee,
        "Content": {
            "LanguageCode": "1044",
            "MessageTitle": "Vedtak i saken din",
            "MessageSummary": "Du har fått et vedtak.",
            "MessageBody": "Se vedlagt vedtak.",
            "Attachments": {
                "BinaryAttachments": {
                    "BinaryAttachmentV2": [
                        {
                            "FunctionType": "Unspecified",
                            "FileName": "vedtak.pdf",
                            "Name": "Vedtak",
                            "Encrypted": False,
                            "Data": PDF,
                        }
                    ]
                }
            },
        },
        "VisibleDateTime": now,
        "DueDateTime": now + dt.timedelta(days=14),
        "SdpOptions": sdp,
    }
    if args.notification:
        # Altinn Notifications: no ReceiverAddress, so the citizen's KRR contact data is used.
        correspondence["Notifications"] = {
            "Notification": [
                {
                    "FromAddress": "no-reply@demoetaten.example",
                    "ShipmentDateTime": now,
                    "LanguageCode": "1044",
                    "NotificationType": args.notification_type,
                    "ReceiverEndPoints": {"ReceiverEndPoint": [{"TransportType": args.notification}]},
                }
            ]
        }
    receipt = svc.InsertCorrespondenceBasicV2(args.user, args.password, args.code, reference, correspondence)
    print(f"ExternalShipmentReference: {reference}")
    print(f"ReceiptStatusCode:         {receipt.ReceiptStatusCode}")
    print(f"ReceiptText:               {receipt.ReceiptText}")
    for sub in receipt.SubReceipts.ReceiptExternal if receipt.SubReceipts else []:
        print(f"SubReceipt:                {sub.ReceiptStatusCode}: {sub.ReceiptText}")
    if sdp is None or args.wait <= 0:
        return 0
    deadline = time.monotonic() + args.wait
    history: list[str] = []
    while time.monotonic() < deadline:
        result = svc.GetCorrespondenceStatusDetailsBasicV3(
            args.user,
            args.password,
            {
                "ServiceCode": args.service_code,
                "ServiceEditionCode": args.service_edition,
                "SendersReference": reference,
                "SdpSearchOptions": {"IncludeCorrespondence": True},
            },
        )
        details = result.SdpStatusInformation.SdpStatusDetailsList
        items = details.SdpStatusDetails if details else []
        if items and items[0].StatusHistory:
            history = [c.Status for c in items[0].StatusHistory.SdpStatusChange]
            if history[-1] in FINAL:
                break
        time.sleep(0.5)
    print(f"SdpStatus history:         {' -> '.join(history) or '(none yet)'}")
    return 0
