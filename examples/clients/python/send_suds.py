"""suds (suds-community): a letter through the Basic variant, from the WSDL the service publishes.

    .venv/bin/python examples/clients/python/send_suds.py [BASE_URL]

suds has no SOAP 1.2, so it serves the Basic variant only.
"""

import base64
import datetime as dt
import sys
import uuid

from suds import WebFault
from suds.client import Client

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
BASIC = BASE + "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"

client = Client(BASIC + "?wsdl", location=BASIC, cache=None)  # location= sets the address
N10 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10"
REL = "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2010/10"
N1602 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02"
f = client.factory
att = f.create(f"{{{REL}}}BinaryAttachmentV2")
att.FunctionType, att.FileName, att.Name, att.Encrypted = "Unspecified", "brev.pdf", "Brev", False
att.Data = base64.b64encode(b"%PDF-1.4\n% suds\n").decode()  # suds sends base64Binary as given: encode it
attachments = f.create(f"{{{REL}}}BinaryAttachmentExternalBEV2List")
attachments.BinaryAttachmentV2 = [att]
content = f.create(f"{{{N10}}}ExternalContentV2")
content.LanguageCode, content.MessageTitle = "1044", "Brev fra suds"
content.Attachments = f.create(f"{{{N10}}}AttachmentsV2")  # suds leaves nested complex types None
content.Attachments.BinaryAttachments = attachments
sdp = f.create(f"{{{N1602}}}SdpOptions")
sdp.BackupAltinn, sdp.PrimaryDocumentFileName, sdp.SdpSetting = True, "brev.pdf", "ForwardOnly"
corr = f.create(f"{{{N10}}}InsertCorrespondenceV2")
corr.ServiceCode, corr.ServiceEdition, corr.Reportee = "4503", "1", "03038210008"
corr.Content, corr.SdpOptions, corr.ArchiveReference = content, sdp, "ARK-1"
corr.VisibleDateTime = dt.datetime.now(dt.UTC)
corr.DueDateTime = dt.datetime.now(dt.UTC) + dt.timedelta(days=14)
ref = f"suds-{uuid.uuid4().hex[:12]}"
receipt = client.service.InsertCorrespondenceBasicV2("10001", "demo-password", "DEMO", ref, corr)
print("basic", ref, receipt.ReceiptStatusCode, receipt.ReceiptText)
try:
    client.service.InsertCorrespondenceBasicV2("10001", "wrong", "DEMO", ref + "-x", corr)
    sys.exit("no fault?")
except WebFault as fault:
    print("fault as expected:", fault.fault.faultstring)
sys.exit(0 if receipt.ReceiptStatusCode == "OK" else 1)
