"""zeep (Python): one letter through each variant, from the WSDL the service publishes.

.venv/bin/python examples/clients/python/send_zeep.py [BASE_URL]
"""

import datetime as dt
import sys
import uuid

from zeep import Client
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
BASIC = BASE + "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"
WS = BASE + "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc"
NS = "{http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10}"


def letter(reportee: str, title: str) -> dict:
    now = dt.datetime.now(dt.UTC)
    attachment = {
        "FunctionType": "Unspecified",
        "FileName": "brev.pdf",
        "Name": "Brev",
        "Encrypted": False,
        "Data": b"%PDF-1.4\n% zeep\n",
    }
    return {
        "ServiceCode": "4503",
        "ServiceEdition": "1",
        "Reportee": reportee,
        "Content": {
            "LanguageCode": "1044",
            "MessageTitle": title,
            "MessageSummary": "Sammendrag",
            "MessageBody": "<p>Brødtekst</p>",
            "Attachments": {"BinaryAttachments": {"BinaryAttachmentV2": [attachment]}},
        },
        "VisibleDateTime": now,
        "DueDateTime": now + dt.timedelta(days=14),
        "ArchiveReference": "ARK-1",
        "SdpOptions": {
            "BackupAltinn": False,
            "PrimaryDocumentFileName": "brev.pdf",
            "SdpSetting": "ForwardOnly",
        },
    }


# Basic: create_service(binding, address) sets the address (a WSDL from Altinn works the same way).
basic = Client(BASIC + "?wsdl").create_service(
    NS + "BasicHttpBinding_ICorrespondenceAgencyExternalBasic", BASIC
)
ref = f"zeep-{uuid.uuid4().hex[:12]}"
receipt = basic.InsertCorrespondenceBasicV2(
    "10001", "demo-password", "DEMO", ref, letter("01018010018", "Brev fra zeep")
)
print("basic", ref, receipt.ReceiptStatusCode, receipt.ReceiptText)
history = basic.GetCorrespondenceStatusHistoryBasic(
    CorrespondenceSendersReferences={"string": [ref]},
    _soapheaders={"SystemUserName": "10001", "SystemPassword": "demo-password"},
)
print(
    "basic history:",
    len(history.SdpStatusInformation.SdpStatusDetailsList.SdpStatusDetails),
    "SDP shipment(s)",
)

# WS: zeep's UsernameToken (PasswordText; use_digest=True for PasswordDigest, needs an owner made with --digest).
ws_client = Client(WS + "?wsdl", wsse=UsernameToken("10001", "demo-password"))
ws = ws_client.create_service(NS + "CustomBinding_ICorrespondenceAgencyExternal", WS)
ws_ref = f"zeep-ws-{uuid.uuid4().hex[:12]}"
r = ws.InsertCorrespondenceV2("DEMO", ws_ref, letter("02028110068", "Brev fra zeep (WS)"))
print("ws", ws_ref, r.ReceiptStatusCode, r.ReceiptText)
try:
    basic.InsertCorrespondenceBasicV2("10001", "wrong", "DEMO", ref + "-x", letter("01018010018", "x"))
    sys.exit("no fault?")
except Fault as fault:
    print("fault as expected:", fault.message)
sys.exit(0 if receipt.ReceiptStatusCode == r.ReceiptStatusCode == "OK" else 1)
