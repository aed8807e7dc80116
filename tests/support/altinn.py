"""zeep clients built from the UNMODIFIED reference WSDLs (address overridden only), and letters."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from zeep import Client, Settings
from zeep.wsse.username import UsernameToken

from .reference import BASIC_WSDL, WS_WSDL, altinn_reference

NS = "{http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10}"
BASIC_BINDING = NS + "BasicHttpBinding_ICorrespondenceAgencyExternalBasic"
WS_BINDING = NS + "CustomBinding_ICorrespondenceAgencyExternal"

DEMO = ("10001", "demo-password", "DEMO", "4503")
OTHER = ("10002", "other-password", "OTHER", "4504")

DIGIPOST = "01018010018"
EBOKS = "02028110068"
NO_POSTBOX = "03038210008"
RESERVED = "04048310058"
NOT_REGISTERED = "05058413730"
DELETED = "06068510048"
REJECTS = "07078610098"
FAILS_TWICE = "08088710038"
SLOW = "09098810088"
FIRST_SEND_HANGS = "10108910076"  # the vendor answers the first send of a letter after 12 s
ORGANISATION = "910646192"

PDF = b"%PDF-1.4\n% innbyggerpost test letter\n"

_clients: dict[str, Client] = {}


def _client(wsdl: str, wsse: Any = None) -> Client:
    if wsse is not None:
        return Client(str(altinn_reference(wsdl)), wsse=wsse, settings=Settings(strict=True))
    if wsdl not in _clients:
        _clients[wsdl] = Client(str(altinn_reference(wsdl)))
    return _clients[wsdl]


def basic(url: str) -> Any:
    return _client(BASIC_WSDL).create_service(BASIC_BINDING, url)


def ws(url: str, user: str = "10001", password: str = "demo-password", digest: bool = False) -> Any:
    return _client(WS_WSDL, wsse=UsernameToken(user, password, use_digest=digest)).create_service(
        WS_BINDING, url
    )


def ref(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def sdp(
    setting: str = "ForwardOnly", backup: bool | None = True, primary: str = "brev.pdf", **extra: Any
) -> dict[str, Any]:
    opts: dict[str, Any] = {"PrimaryDocumentFileName": primary, "SdpSetting": setting}
    if backup is not None:
        opts["BackupAltinn"] = backup
    opts.update(extra)
    return opts


def letter(
    reportee: str = DIGIPOST,
    sdp_options: dict[str, Any] | None = None,
    service_code: str = "4503",
    title: str | None = "Vedtak om innbyggerpost",
    language: str | None = "1044",
    attachments: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    if attachments is None:
        attachments = [
            {
                "FunctionType": "Unspecified",
                "FileName": "brev.pdf",
                "Name": "Brev",
                "Encrypted": False,
                "Data": PDF,
            },
            {
                "FunctionType": "Unspecified",
                "FileName": "vedlegg.txt",
                "Name": "Vedlegg",
                "Encrypted": False,
                "Data": b"hei",
            },
        ]
    corr: dict[str, Any] = {
        "ServiceCode": service_code,
        "ServiceEdition": "1",
        "Reportee": reportee,
        "Content": {
            "LanguageCode": language,
            "MessageTitle": title,
            "MessageSummary": "Sammendrag",
            "MessageBody": "<p>Brødtekst</p>",
            "Attachments": {"BinaryAttachments": {"BinaryAttachmentV2": attachments}},
        },
        "VisibleDateTime": now,
        "DueDateTime": now + dt.timedelta(days=14),
        "ArchiveReference": "ARK-1",
        "SdpOptions": sdp_options,
    }
    corr.update(extra)
    return corr


def insert(url: str, reference: str, corr: dict[str, Any], owner: tuple[str, str, str, str] = DEMO) -> Any:
    user, password, code, _ = owner
    return basic(url).InsertCorrespondenceBasicV2(user, password, code, reference, corr)


def v3(
    url: str, reference: str | None = None, owner: tuple[str, str, str, str] = DEMO, include: bool = True
) -> Any:
    user, password, _, service = owner
    flt = {
        "ServiceCode": service,
        "ServiceEditionCode": 1,
        "SendersReference": reference,
        "SdpSearchOptions": {"IncludeCorrespondence": include},
    }
    return basic(url).GetCorrespondenceStatusDetailsBasicV3(user, password, flt)


def sdp_details(url: str, reference: str) -> list[Any]:
    info = v3(url, reference).SdpStatusInformation
    if info is None or info.SdpStatusDetailsList is None:
        return []
    return list(info.SdpStatusDetailsList.SdpStatusDetails)


def sdp_history(url: str, reference: str) -> list[str]:
    details = sdp_details(url, reference)
    assert len(details) == 1, details
    hist = details[0].StatusHistory
    return [c.Status for c in (hist.SdpStatusChange if hist else [])]


FINAL_SDP = {"Delivered_EndUser", "Delivery_EndUser_Failed", "Reserved", "NoMailBox"}


def wait_final(url: str, reference: str, timeout: float = 30) -> list[str]:
    """The SDP status history of one shipment once it reached a final status (polled, bounded)."""
    from .harness import wait_until

    history: list[str] = wait_until(
        lambda: (h := sdp_history(url, reference)) and h[-1] in FINAL_SDP and h,
        timeout,
        f"final SDP status of {reference}",
    )
    return history


def altinn_statuses(url: str, reference: str) -> list[Any]:
    info = v3(url, reference).CorrespondenceStatusInformation
    if info is None or info.CorrespondenceStatusDetailsList is None:
        return []
    return list(info.CorrespondenceStatusDetailsList.StatusV2)


# -- helpers added for the contract / validation / bad-input tests ---------------------------------

FAULT_NS = "{http://www.altinn.no/services/common/fault/2009/10}"


def ws_anonymous(url: str) -> Any:
    """WS variant client without any WS-Security header."""
    return _client(WS_WSDL).create_service(WS_BINDING, url)


def basic_fresh(url: str) -> Any:
    """Basic variant client with its own zeep Client (and HTTP session), e.g. one per thread."""
    return Client(str(altinn_reference(BASIC_WSDL))).create_service(BASIC_BINDING, url)


def fault_error_id(fault: Any) -> int:
    """ErrorID of the AltinnFault detail of a ``zeep.exceptions.Fault`` (fails if there is none)."""
    detail = fault.detail
    assert detail is not None, f"fault without detail: {fault.message}"
    found = detail.find(f"{FAULT_NS}AltinnFault/{FAULT_NS}ErrorID")
    assert found is not None and found.text is not None, (
        f"no AltinnFault/ErrorID in the fault detail: {fault}"
    )
    return int(found.text)


def history_basic(url: str, references: list[str], owner: tuple[str, str, str, str] = DEMO) -> Any:
    """GetCorrespondenceStatusHistoryBasic with the SystemUserName/SystemPassword SOAP headers."""
    user, password, _, _ = owner
    return basic(url).GetCorrespondenceStatusHistoryBasic(
        CorrespondenceSendersReferences={"string": references},
        _soapheaders={"SystemUserName": user, "SystemPassword": password},
    )


_ws_clients: dict[tuple[str, str, bool], Client] = {}


def ws_cached(url: str, user: str = "10001", password: str = "demo-password", digest: bool = False) -> Any:
    """Like ``ws()``, with one zeep Client per credentials (the token gets a fresh Nonce/Created per call)."""
    key = (user, password, digest)
    if key not in _ws_clients:
        _ws_clients[key] = Client(
            str(altinn_reference(WS_WSDL)),
            wsse=UsernameToken(user, password, use_digest=digest),
            settings=Settings(strict=True),
        )
    return _ws_clients[key].create_service(WS_BINDING, url)
