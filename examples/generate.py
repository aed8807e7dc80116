"""Writes examples/requests/{basic,ws}/*.xml and examples/soapui/innbyggerpost-soapui-project.xml.

The files are committed; this script is how they were made and how to remake them after a contract
change (``.venv/bin/python examples/generate.py``). ``tests/e2e/test_examples.py`` and
``tests/e2e/test_soapui_project.py`` send what the files say, so a stale file fails the suite.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"
NS_TEST = "http://www.altinn.no/services/2009/10"
C0910 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2009/10"
C1010 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10"
C1311 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2013/11"
C1410 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2014/10"
C1602 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02"
REL1010 = "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2010/10"
REL0910 = "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2009/10"
ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
RECEIPT = "http://schemas.altinn.no/services/Intermediary/Receipt/2009/10"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)

BASIC_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"
WS_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc"
BASIC_ACTION = NS + "/ICorrespondenceAgencyExternalBasic/"
WS_ACTION = NS + "/ICorrespondenceAgencyExternal/"
TEST_ACTION = NS_TEST + "/IAltinnContractBase/Test"

USER, PASSWORD, CODE, SERVICE = "10001", "demo-password", "DEMO", "4503"
PDF_B64 = (
    "JVBERi0xLjQKJSBpbm5ieWdnZXJwb3N0IGV4YW1wbGUgbGV0dGVyCg=="  # "%PDF-1.4\n% innbyggerpost example letter\n"
)

BASIC_OPS = [
    "Test",
    "CreateSimpleCorrespondenceServiceBasic",
    "GetCorrespondenceStatusDetailsBasic",
    "GetCorrespondenceStatusDetailsBasicV2",
    "GetCorrespondenceStatusDetailsBasicV3",
    "GetCorrespondenceStatusHistoryBasic",
    "InsertCorrespondenceBasic",
    "InsertCorrespondenceBasicV2",
]
WS_OPS = [op.replace("Basic", "") for op in BASIC_OPS]


def action(variant: str, op: str) -> str:
    if op == "Test":
        return TEST_ACTION
    return (BASIC_ACTION if variant == "basic" else WS_ACTION) + op


# --------------------------------------------------------------------------- request bodies


def sdp_options(setting: str, backup: str | None, ind: str) -> str:
    lines = [f"{ind}<ns1:SdpOptions>"]
    if backup is not None:
        lines.append(f"{ind}  <ns3:BackupAltinn>{backup}</ns3:BackupAltinn>")
    lines.append(f"{ind}  <ns3:PrimaryDocumentFileName>brev.pdf</ns3:PrimaryDocumentFileName>")
    lines.append(f"{ind}  <ns3:SdpSetting>{setting}</ns3:SdpSetting>")
    lines.append(f"{ind}</ns1:SdpOptions>")
    return "\n".join(lines)


def correspondence(
    reportee: str,
    sdp: tuple[str, str | None] | None,
    *,
    title: str,
    reservable: bool = False,
    ind: str = "      ",
) -> str:
    """The ``Correspondence`` (InsertCorrespondenceV2) element, children in schema order."""
    i2, i3, i4, i5, i6 = (ind + "  " * n for n in range(1, 6))
    parts = [
        f"{ind}<ns:Correspondence>",
        f"{i2}<ns1:ServiceCode>{SERVICE}</ns1:ServiceCode>",
        f"{i2}<ns1:ServiceEdition>1</ns1:ServiceEdition>",
        f"{i2}<ns1:Reportee>{reportee}</ns1:Reportee>",
        f"{i2}<ns1:Content>",
        f"{i3}<ns1:LanguageCode>1044</ns1:LanguageCode>",
        f"{i3}<ns1:MessageTitle>{escape(title)}</ns1:MessageTitle>",
        f"{i3}<ns1:MessageSummary>Sammendrag</ns1:MessageSummary>",
        f"{i3}<ns1:MessageBody>&lt;p&gt;Brødtekst&lt;/p&gt;</ns1:MessageBody>",
        f"{i3}<ns1:Attachments>",
        f"{i4}<ns1:BinaryAttachments>",
        f"{i5}<ns2:BinaryAttachmentV2>",
        f"{i6}<ns2:FunctionType>Unspecified</ns2:FunctionType>",
        f"{i6}<ns2:FileName>brev.pdf</ns2:FileName>",
        f"{i6}<ns2:Name>Brev</ns2:Name>",
        f"{i6}<ns2:Encrypted>false</ns2:Encrypted>",
        f"{i6}<ns2:Data>{PDF_B64}</ns2:Data>",
        f"{i5}</ns2:BinaryAttachmentV2>",
        f"{i4}</ns1:BinaryAttachments>",
        f"{i3}</ns1:Attachments>",
        f"{i2}</ns1:Content>",
        f"{i2}<ns1:VisibleDateTime>2026-01-01T08:00:00Z</ns1:VisibleDateTime>",
        f"{i2}<ns1:DueDateTime>2030-01-01T08:00:00Z</ns1:DueDateTime>",
        f"{i2}<ns1:ArchiveReference>ARK-1</ns1:ArchiveReference>",
    ]
    if reservable:
        parts.append(f"{i2}<ns1:IsReservable>true</ns1:IsReservable>")
    if sdp is not None:
        parts.append(sdp_options(sdp[0], sdp[1], i2))
    parts.append(f"{ind}</ns:Correspondence>")
    return "\n".join(parts)


INSERT_NS = f'xmlns:ns="{NS}" xmlns:ns1="{C1010}" xmlns:ns2="{REL1010}" xmlns:ns3="{C1602}"'


def insert_v2(variant: str, reference: str, corr: str, password: str = PASSWORD) -> str:
    op = "InsertCorrespondenceBasicV2" if variant == "basic" else "InsertCorrespondenceV2"
    creds = (
        f"      <ns:systemUserName>{USER}</ns:systemUserName>\n"
        f"      <ns:systemPassword>{escape(password)}</ns:systemPassword>\n"
        if variant == "basic"
        else ""
    )
    return (
        f"    <ns:{op}>\n{creds}"
        f"      <ns:SystemUserCode>{CODE}</ns:SystemUserCode>\n"
        f"      <ns:ExternalShipmentReference>{reference}</ns:ExternalShipmentReference>\n"
        f"{corr}\n"
        f"    </ns:{op}>"
    )


def creds(variant: str) -> str:
    if variant != "basic":
        return ""
    return f"      <ns:systemUserName>{USER}</ns:systemUserName>\n      <ns:systemPassword>{PASSWORD}</ns:systemPassword>\n"


def status_v3(variant: str, reference: str, include: bool = True) -> str:
    op = "GetCorrespondenceStatusDetailsBasicV3" if variant == "basic" else "GetCorrespondenceStatusDetailsV3"
    return (
        f"    <ns:{op}>\n{creds(variant)}"
        "      <ns:filterCriteria>\n"
        "        <ns4:SdpSearchOptions>\n"
        f"          <ns4:IncludeCorrespondence>{'true' if include else 'false'}</ns4:IncludeCorrespondence>\n"
        "        </ns4:SdpSearchOptions>\n"
        f"        <ns4:SendersReference>{reference}</ns4:SendersReference>\n"
        f"        <ns4:ServiceCode>{SERVICE}</ns4:ServiceCode>\n"
        "        <ns4:ServiceEditionCode>1</ns4:ServiceEditionCode>\n"
        "      </ns:filterCriteria>\n"
        f"    </ns:{op}>"
    )


def status_v2(variant: str, reference: str) -> str:
    op = "GetCorrespondenceStatusDetailsBasicV2" if variant == "basic" else "GetCorrespondenceStatusDetailsV2"
    return (
        f"    <ns:{op}>\n{creds(variant)}"
        "      <ns:filterCriteria>\n"
        f"        <ns5:SendersReference>{reference}</ns5:SendersReference>\n"
        f"        <ns5:ServiceCode>{SERVICE}</ns5:ServiceCode>\n"
        "        <ns5:ServiceEditionCode>1</ns5:ServiceEditionCode>\n"
        "      </ns:filterCriteria>\n"
        f"    </ns:{op}>"
    )


def status_v1(variant: str, reference: str) -> str:
    op = "GetCorrespondenceStatusDetailsBasic" if variant == "basic" else "GetCorrespondenceStatusDetails"
    return (
        f"    <ns:{op}>\n{creds(variant)}"
        "      <ns:filterCriteria>\n"
        f"        <ns6:SendersReference>{reference}</ns6:SendersReference>\n"
        f"        <ns6:ServiceCode>{SERVICE}</ns6:ServiceCode>\n"
        "        <ns6:ServiceEditionCode>1</ns6:ServiceEditionCode>\n"
        "      </ns:filterCriteria>\n"
        f"    </ns:{op}>"
    )


def history(references: list[str]) -> str:
    refs = "".join(f"        <ns7:string>{r}</ns7:string>\n" for r in references)
    return (
        "    <ns:CorrespondenceStatusHistoryRequest>\n"
        "      <ns:CorrespondenceSendersReferences>\n"
        f"{refs}"
        "      </ns:CorrespondenceSendersReferences>\n"
        "    </ns:CorrespondenceStatusHistoryRequest>"
    )


def history_headers() -> str:
    return f"    <ns:SystemPassword>{PASSWORD}</ns:SystemPassword>\n    <ns:SystemUserName>{USER}</ns:SystemUserName>"


def create_simple(variant: str) -> str:
    op = (
        "CreateSimpleCorrespondenceServiceBasic"
        if variant == "basic"
        else "CreateSimpleCorrespondenceService"
    )
    return (
        f"    <ns:{op}>\n{creds(variant)}"
        f"      <ns:templateServiceCode>{SERVICE}</ns:templateServiceCode>\n"
        "      <ns:templateServiceEditionCode>1</ns:templateServiceEditionCode>\n"
        f"    </ns:{op}>"
    )


def insert_v1(variant: str, reference: str) -> str:
    op = "InsertCorrespondenceBasic" if variant == "basic" else "InsertCorrespondence"
    return (
        f"    <ns:{op}>\n{creds(variant)}"
        f"      <ns:SystemUserCode>{CODE}</ns:SystemUserCode>\n"
        f"      <ns:ExternalReference>{reference}</ns:ExternalReference>\n"
        "      <ns:Correspondence>\n"
        f"        <ns8:ServiceCode>{SERVICE}</ns8:ServiceCode>\n"
        "        <ns8:ServiceEdition>1</ns8:ServiceEdition>\n"
        "        <ns8:Reportee>01018010018</ns8:Reportee>\n"
        "        <ns8:Content>\n"
        "          <ns8:LanguageCode>1044</ns8:LanguageCode>\n"
        "          <ns8:MessageTitle>Gammel operasjon</ns8:MessageTitle>\n"
        "        </ns8:Content>\n"
        "      </ns:Correspondence>\n"
        f"    </ns:{op}>"
    )


ALL_NS = (
    f'xmlns:ns="{NS}" xmlns:ns1="{C1010}" xmlns:ns2="{REL1010}" xmlns:ns3="{C1602}" xmlns:ns4="{C1602}" '
    f'xmlns:ns5="{C1410}" xmlns:ns6="{C1311}" xmlns:ns7="{ARRAYS}" xmlns:ns8="{C0910}"'
)


def envelope(
    variant: str, body: str, *, headers: str = "", wsse: bool | None = None, body_ns: str = ""
) -> str:
    """A whole SOAP envelope. ``wsse`` (WS only): a static PasswordText UsernameToken (no Nonce/Created)."""
    env = S11 if variant == "basic" else S12
    prefix = "soapenv" if variant == "basic" else "soap"
    head = headers
    if wsse:
        head = (
            f'    <wsse:Security xmlns:wsse="{WSSE}" {prefix}:mustUnderstand="{"1" if variant == "basic" else "true"}">\n'
            "      <wsse:UsernameToken>\n"
            f"        <wsse:Username>{USER}</wsse:Username>\n"
            f'        <wsse:Password Type="{PASSWORD_TEXT}">{PASSWORD}</wsse:Password>\n'
            "      </wsse:UsernameToken>\n"
            "    </wsse:Security>" + ("\n" + head if head else "")
        )
    header = f"  <{prefix}:Header>\n{head}\n  </{prefix}:Header>\n" if head else f"  <{prefix}:Header/>\n"
    return (
        f'<{prefix}:Envelope xmlns:{prefix}="{env}" {body_ns}>\n'
        f"{header}"
        f"  <{prefix}:Body>\n{body}\n  </{prefix}:Body>\n"
        f"</{prefix}:Envelope>\n"
    )


# --------------------------------------------------------------------------- examples/requests

MODES = {
    # mode: (reportee, SdpOptions (SdpSetting, BackupAltinn) or None, what happens)
    "altinn": ("01018010018", None, "no SdpOptions: Altinn inbox only, KRR not asked"),
    "forward-only": ("01018010018", ("ForwardOnly", "false"), "Digipost citizen: forwarded to Digipost only"),
    "fallback": (
        "03038210008",
        ("ForwardOnly", "true"),
        "no postbox: BackupAltinn puts it in the Altinn inbox",
    ),
    "copy": ("02028110068", ("CopyAltinn", None), "e-Boks citizen: e-Boks and an Altinn copy"),
}


def example_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for variant in ("basic", "ws"):
        wsse = variant == "ws"
        insert_op = "InsertCorrespondenceBasicV2" if variant == "basic" else "InsertCorrespondenceV2"
        for mode, (reportee, sdp, _what) in MODES.items():
            ref = f"example-{mode}-1"
            corr = correspondence(reportee, sdp, title=f"Eksempel: {mode}")
            files[f"{variant}/{insert_op}-{mode}.xml"] = envelope(
                variant, insert_v2(variant, ref, corr), wsse=wsse, body_ns=INSERT_NS
            )
        ops = BASIC_OPS if variant == "basic" else WS_OPS
        ref = "example-forward-only-1"
        bodies = {
            ops[0]: ('    <ns9:Test xmlns:ns9="' + NS_TEST + '"/>', ""),
            ops[1]: (create_simple(variant), f'xmlns:ns="{NS}"'),
            ops[2]: (status_v1(variant, ref), f'xmlns:ns="{NS}" xmlns:ns6="{C1311}"'),
            ops[3]: (status_v2(variant, ref), f'xmlns:ns="{NS}" xmlns:ns5="{C1410}"'),
            ops[4]: (status_v3(variant, ref), f'xmlns:ns="{NS}" xmlns:ns4="{C1602}"'),
            ops[5]: (history([ref]), f'xmlns:ns="{NS}" xmlns:ns7="{ARRAYS}"'),
            ops[6]: (insert_v1(variant, "example-old-1"), f'xmlns:ns="{NS}" xmlns:ns8="{C0910}"'),
        }
        for op, (body, body_ns) in bodies.items():
            headers = (
                history_headers()
                if (variant == "basic" and op == "GetCorrespondenceStatusHistoryBasic")
                else ""
            )
            files[f"{variant}/{op}.xml"] = envelope(
                variant, body, headers=headers, wsse=wsse, body_ns=body_ns
            )
    return files


# --------------------------------------------------------------------------- SoapUI project


def _id(name: str) -> str:
    """Stable ids so that regenerating gives the same file."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "innbyggerpost-soapui/" + name))


R_DECL = f"declare namespace r='{RECEIPT}';"
S_DECL = f"declare namespace s='{C1602}';"
FAULT_DECL = "declare namespace f='http://www.altinn.no/services/common/fault/2009/10';"
RESERVATION = "the user has opted out from receiving any correspondences"


def a_soap_response(name: str) -> str:
    return f'<con:assertion type="SOAP Response" id="{_id(name + "/soap")}" name="SOAP Response"/>'


def a_not_fault(name: str) -> str:
    return (
        f'<con:assertion type="SOAP Fault Assertion" id="{_id(name + "/notfault")}" name="Not SOAP Fault"/>'
    )


def a_fault(name: str) -> str:
    return f'<con:assertion type="Not SOAP Fault Assertion" id="{_id(name + "/fault")}" name="SOAP Fault"/>'


def a_xpath(name: str, label: str, path: str, content: str) -> str:
    return (
        f'<con:assertion type="XPath Match" id="{_id(name + "/xpath/" + label)}" name="{escape(label)}">'
        "<con:configuration>"
        f"<path>{escape(path)}</path>"
        f"<content>{escape(content)}</content>"
        "<allowWildcards>false</allowWildcards>"
        "<ignoreNamspaceDifferences>false</ignoreNamspaceDifferences>"
        "<ignoreComments>false</ignoreComments>"
        "</con:configuration></con:assertion>"
    )


def a_contains(name: str, label: str, token: str) -> str:
    return (
        f'<con:assertion type="Simple Contains" id="{_id(name + "/contains/" + label)}" name="{escape(label)}">'
        "<con:configuration>"
        f"<token>{escape(token)}</token>"
        "<ignoreCase>false</ignoreCase>"
        "<useRegEx>false</useRegEx>"
        "</con:configuration></con:assertion>"
    )


def receipt_code(name: str, code: str) -> str:
    return a_xpath(
        name,
        f"ReceiptStatusCode is {code}",
        f"{R_DECL}\n/*:Envelope/*:Body/*/*/r:ReceiptStatusCode",
        code,
    )


def sdp_status(name: str, status: str) -> str:
    return a_xpath(
        name,
        f"SDP status is {status}",
        f"{S_DECL}\n(//s:SdpStatusDetails/s:StatusHistory/s:SdpStatusChange/s:Status)[last()]",
        status,
    )


def fault_error(name: str, error_id: str) -> str:
    return a_xpath(
        name, f"AltinnFault ErrorID is {error_id}", f"{FAULT_DECL}\n//f:AltinnFault/f:ErrorID", error_id
    )


class Step:
    def __init__(self, xml: str) -> None:
        self.xml = xml


def request_step(
    name: str,
    interface: str,
    op: str,
    endpoint: str,
    body: str,
    assertions: list[str],
    *,
    wss: str = "",
) -> str:
    ws = interface.startswith("Custom")
    wsa = (
        f'<con:wsaConfig mustUnderstand="NONE" version="200508" action="{action("ws" if ws else "basic", op)}" '
        'addDefaultTo="true" generateMessageId="true"/>'
    )
    return (
        f'<con:testStep type="request" id="{_id(name)}" name="{escape(name)}">'
        "<con:settings/>"
        '<con:config xsi:type="con:RequestStep" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<con:interface>{interface}</con:interface>"
        f"<con:operation>{op}</con:operation>"
        f'<con:request name="{escape(name)}" outgoingWss="{escape(wss)}" incomingWss="" timeout="" sslKeystore="" '
        f'useWsAddressing="{"true" if ws else "false"}" useWsReliableMessaging="false" wssPasswordType="" '
        f'id="{_id(name + "/request")}">'
        "<con:settings>"
        '<con:setting id="com.eviware.soapui.impl.wsdl.WsdlRequest@request-headers">&lt;xml-fragment/&gt;</con:setting>'
        "</con:settings>"
        "<con:encoding>UTF-8</con:encoding>"
        f"<con:endpoint>{endpoint}</con:endpoint>"
        f"<con:request><![CDATA[{body}]]></con:request>"
        + "".join(assertions)
        + "<con:credentials><con:selectedAuthProfile>No Authorization</con:selectedAuthProfile>"
        "<con:authType>No Authorization</con:authType></con:credentials>"
        '<con:jmsConfig JMSDeliveryMode="PERSISTENT"/>'
        f"{wsa}"
        '<con:wsrmConfig version="1.2"/>'
        "</con:request></con:config></con:testStep>"
    )


def transfer_step(name: str, source: str, prop: str) -> str:
    path = f"{R_DECL}\n/*:Envelope/*:Body/*/*/r:References/r:Reference[r:ReferenceTypeName='ExternalShipmentReference']/r:ReferenceValue"
    return (
        f'<con:testStep type="transfer" id="{_id(name)}" name="{escape(name)}">'
        "<con:settings/>"
        '<con:config xsi:type="con:PropertyTransfersStep" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<con:transfers setNullOnMissingSource="true" transferTextContent="true" failOnError="true" '
        'ignoreEmpty="false" transferToAll="false" entitize="false" transferChildNodes="false">'
        f"<con:name>{prop}</con:name>"
        "<con:sourceType>Response</con:sourceType>"
        f"<con:sourceStep>{escape(source)}</con:sourceStep>"
        f"<con:sourcePath>{escape(path)}</con:sourcePath>"
        f"<con:targetType>{prop}</con:targetType>"
        "<con:targetStep>#TestCase#</con:targetStep>"
        "<con:upgraded>true</con:upgraded>"
        "</con:transfers></con:config></con:testStep>"
    )


def delay_step(name: str, millis: int) -> str:
    return (
        f'<con:testStep type="delay" id="{_id(name)}" name="{escape(name)}">'
        f"<con:settings/><con:config><delay>{millis}</delay></con:config></con:testStep>"
    )


BASIC_IF = "BasicHttpBinding_ICorrespondenceAgencyExternalBasic"
WS_IF = "CustomBinding_ICorrespondenceAgencyExternal"
BASIC_EP = "${#Project#BaseUrl}" + BASIC_PATH
WS_EP = "${#Project#BaseUrl}" + WS_PATH
UNIQUE = "${=java.util.UUID.randomUUID()}"
WSS_NAME = "demo UsernameToken"

INSERT_CASES = [
    # step name, reportee, SdpOptions, IsReservable, ReceiptStatusCode, property, extra assertions
    ("Insert forward-only Digipost", "01018010018", ("ForwardOnly", "false"), False, "OK", "RefDigipost", []),
    ("Insert copy e-Boks", "02028110068", ("CopyAltinn", None), False, "OK", "RefEboks", []),
    (
        "Insert forward-only no postbox",
        "03038210008",
        ("ForwardOnly", "false"),
        False,
        "Rejected",
        "RefNoPostbox",
        [],
    ),
    ("Insert fallback no postbox", "03038210008", ("ForwardOnly", "true"), False, "OK", "RefFallback", []),
    (
        "Insert reserved IsReservable",
        "04048310058",
        ("ForwardOnly", "false"),
        True,
        "Rejected",
        "RefReserved",
        ["reservation"],
    ),
    ("Insert vendor rejects", "07078610098", ("ForwardOnly", "true"), False, "OK", "RefVendorRejects", []),
    ("Insert without SdpOptions", "01018010018", None, False, "OK", "RefAltinn", []),
]

# status checks after the inserts: (step name, property, SDP status or None, wait for the worker first)
STATUS_CASES = [
    ("Status V3 Digipost", "RefDigipost", "Delivered_EndUser", True),
    ("Status V3 e-Boks", "RefEboks", "Delivered_EndUser", True),
    ("Status V3 no postbox", "RefNoPostbox", "NoMailBox", False),
    ("Status V3 fallback", "RefFallback", "NoMailBox", False),
    ("Status V3 reserved", "RefReserved", "Reserved", False),
    ("Status V3 vendor rejects", "RefVendorRejects", "Delivery_EndUser_Failed", True),
]


def project() -> str:
    basic_steps: list[str] = []
    props = []
    basic_steps.append(
        request_step(
            "Basic Test",
            BASIC_IF,
            "Test",
            BASIC_EP,
            envelope("basic", f'    <ns9:Test xmlns:ns9="{NS_TEST}"/>'),
            [a_soap_response("Basic Test"), a_not_fault("Basic Test")],
        )
    )
    for name, reportee, sdp, reservable, code, prop, extra in INSERT_CASES:
        ref = f"soapui-{prop[3:].lower()}-{UNIQUE}"
        corr = correspondence(reportee, sdp, title=f"SoapUI: {name}", reservable=reservable)
        asserts = [a_soap_response(name), a_not_fault(name), receipt_code(name, code)]
        if "reservation" in extra:
            asserts.append(a_contains(name, "Reservation phrase", RESERVATION))
        basic_steps.append(
            request_step(
                name,
                BASIC_IF,
                "InsertCorrespondenceBasicV2",
                BASIC_EP,
                envelope("basic", insert_v2("basic", ref, corr), body_ns=INSERT_NS),
                asserts,
            )
        )
        basic_steps.append(transfer_step(f"Transfer {prop}", name, prop))
        props.append(prop)
    name = "Insert ValidationFailed (bad Reportee)"
    corr = correspondence("12345678901", ("ForwardOnly", "true"), title="SoapUI: invalid reportee")
    basic_steps.append(
        request_step(
            name,
            BASIC_IF,
            "InsertCorrespondenceBasicV2",
            BASIC_EP,
            envelope("basic", insert_v2("basic", f"soapui-invalid-{UNIQUE}", corr), body_ns=INSERT_NS),
            [
                a_soap_response(name),
                a_not_fault(name),
                receipt_code(name, "ValidationFailed"),
                a_contains(name, "Names the field", "Correspondence/Reportee"),
            ],
        )
    )
    name = "Insert wrong password"
    corr = correspondence("01018010018", None, title="SoapUI: wrong password")
    basic_steps.append(
        request_step(
            name,
            BASIC_IF,
            "InsertCorrespondenceBasicV2",
            BASIC_EP,
            envelope(
                "basic",
                insert_v2("basic", f"soapui-wrongpw-{UNIQUE}", corr, password="not-the-password"),
                body_ns=INSERT_NS,
            ),
            [a_soap_response(name), a_fault(name), fault_error(name, "989")],
        )
    )
    waited = False
    for name, prop, status, wait in STATUS_CASES:
        if wait and not waited:
            basic_steps.append(delay_step("Wait for the delivery worker", 5000))
            waited = True
        asserts = [a_soap_response(name), a_not_fault(name)]
        if status:
            asserts.append(sdp_status(name, status))
        basic_steps.append(
            request_step(
                name,
                BASIC_IF,
                "GetCorrespondenceStatusDetailsBasicV3",
                BASIC_EP,
                envelope(
                    "basic",
                    status_v3("basic", "${#TestCase#" + prop + "}"),
                    body_ns=f'xmlns:ns="{NS}" xmlns:ns4="{C1602}"',
                ),
                asserts,
            )
        )
    name = "Status V3 without SdpOptions"
    basic_steps.append(
        request_step(
            name,
            BASIC_IF,
            "GetCorrespondenceStatusDetailsBasicV3",
            BASIC_EP,
            envelope(
                "basic",
                status_v3("basic", "${#TestCase#RefAltinn}"),
                body_ns=f'xmlns:ns="{NS}" xmlns:ns4="{C1602}"',
            ),
            [
                a_soap_response(name),
                a_not_fault(name),
                a_xpath(
                    name,
                    "Altinn status is Created",
                    f"declare namespace v='{C1410}';\n(//v:StatusV2/v:StatusChanges/v:StatusChangeV2/v:StatusType)[1]",
                    "Created",
                ),
                a_xpath(name, "no SDP details", f"{S_DECL}\ncount(//s:SdpStatusDetails)", "0"),
            ],
        )
    )
    name = "Status V2 without SdpOptions"
    basic_steps.append(
        request_step(
            name,
            BASIC_IF,
            "GetCorrespondenceStatusDetailsBasicV2",
            BASIC_EP,
            envelope(
                "basic",
                status_v2("basic", "${#TestCase#RefAltinn}"),
                body_ns=f'xmlns:ns="{NS}" xmlns:ns5="{C1410}"',
            ),
            [
                a_soap_response(name),
                a_not_fault(name),
                a_xpath(
                    name, "one correspondence", f"declare namespace v='{C1410}';\ncount(//v:StatusV2)", "1"
                ),
            ],
        )
    )
    name = "Status history"
    refs = ["${#TestCase#RefDigipost}", "${#TestCase#RefNoPostbox}", "${#TestCase#RefReserved}"]
    basic_steps.append(
        request_step(
            name,
            BASIC_IF,
            "GetCorrespondenceStatusHistoryBasic",
            BASIC_EP,
            envelope(
                "basic",
                history(refs),
                headers=history_headers(),
                body_ns=f'xmlns:ns="{NS}" xmlns:ns7="{ARRAYS}"',
            ),
            [
                a_soap_response(name),
                a_not_fault(name),
                a_xpath(name, "three SDP shipments", f"{S_DECL}\ncount(//s:SdpStatusDetails)", "3"),
            ],
        )
    )
    for op, body, body_ns in (
        ("CreateSimpleCorrespondenceServiceBasic", create_simple("basic"), f'xmlns:ns="{NS}"'),
        (
            "GetCorrespondenceStatusDetailsBasic",
            status_v1("basic", "${#TestCase#RefAltinn}"),
            f'xmlns:ns="{NS}" xmlns:ns6="{C1311}"',
        ),
        (
            "InsertCorrespondenceBasic",
            insert_v1("basic", f"soapui-old-{UNIQUE}"),
            f'xmlns:ns="{NS}" xmlns:ns8="{C0910}"',
        ),
    ):
        name = f"{op} (older operation: fault)"
        basic_steps.append(
            request_step(
                name,
                BASIC_IF,
                op,
                BASIC_EP,
                envelope("basic", body, body_ns=body_ns),
                [
                    a_soap_response(name),
                    a_fault(name),
                    a_contains(name, "Not supported", "is not supported by this service"),
                ],
            )
        )

    ws_steps: list[str] = []
    name = "WS Test"
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "Test",
            WS_EP,
            envelope("ws", f'    <ns9:Test xmlns:ns9="{NS_TEST}"/>'),
            [a_soap_response(name), a_not_fault(name)],
            wss=WSS_NAME,
        )
    )
    name = "WS Insert forward-only Digipost"
    corr = correspondence("01018010018", ("ForwardOnly", "false"), title="SoapUI WS: Digipost")
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "InsertCorrespondenceV2",
            WS_EP,
            envelope("ws", insert_v2("ws", f"soapui-ws-{UNIQUE}", corr), body_ns=INSERT_NS),
            [a_soap_response(name), a_not_fault(name), receipt_code(name, "OK")],
            wss=WSS_NAME,
        )
    )
    ws_steps.append(transfer_step("Transfer WsRef", name, "WsRef"))
    name = "WS Insert reserved IsReservable"
    corr = correspondence(
        "04048310058", ("ForwardOnly", "true"), title="SoapUI WS: reserved", reservable=True
    )
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "InsertCorrespondenceV2",
            WS_EP,
            envelope("ws", insert_v2("ws", f"soapui-ws-reserved-{UNIQUE}", corr), body_ns=INSERT_NS),
            [
                a_soap_response(name),
                a_not_fault(name),
                receipt_code(name, "Rejected"),
                a_contains(name, "Reservation phrase", RESERVATION),
            ],
            wss=WSS_NAME,
        )
    )
    name = "WS Status V3"
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "GetCorrespondenceStatusDetailsV3",
            WS_EP,
            envelope(
                "ws", status_v3("ws", "${#TestCase#WsRef}"), body_ns=f'xmlns:ns="{NS}" xmlns:ns4="{C1602}"'
            ),
            [
                a_soap_response(name),
                a_not_fault(name),
                a_xpath(name, "one SDP shipment", f"{S_DECL}\ncount(//s:SdpStatusDetails)", "1"),
            ],
            wss=WSS_NAME,
        )
    )
    name = "WS Status V2"
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "GetCorrespondenceStatusDetailsV2",
            WS_EP,
            envelope(
                "ws", status_v2("ws", "${#TestCase#WsRef}"), body_ns=f'xmlns:ns="{NS}" xmlns:ns5="{C1410}"'
            ),
            [a_soap_response(name), a_not_fault(name)],
            wss=WSS_NAME,
        )
    )
    name = "WS Status history"
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "GetCorrespondenceStatusHistory",
            WS_EP,
            envelope("ws", history(["${#TestCase#WsRef}"]), body_ns=f'xmlns:ns="{NS}" xmlns:ns7="{ARRAYS}"'),
            [
                a_soap_response(name),
                a_not_fault(name),
                a_xpath(name, "one SDP shipment", f"{S_DECL}\ncount(//s:SdpStatusDetails)", "1"),
            ],
            wss=WSS_NAME,
        )
    )
    for op, body, body_ns in (
        ("CreateSimpleCorrespondenceService", create_simple("ws"), f'xmlns:ns="{NS}"'),
        (
            "GetCorrespondenceStatusDetails",
            status_v1("ws", "${#TestCase#WsRef}"),
            f'xmlns:ns="{NS}" xmlns:ns6="{C1311}"',
        ),
        (
            "InsertCorrespondence",
            insert_v1("ws", f"soapui-ws-old-{UNIQUE}"),
            f'xmlns:ns="{NS}" xmlns:ns8="{C0910}"',
        ),
    ):
        name = f"WS {op} (older operation: fault)"
        ws_steps.append(
            request_step(
                name,
                WS_IF,
                op,
                WS_EP,
                envelope("ws", body, body_ns=body_ns),
                [
                    a_soap_response(name),
                    a_fault(name),
                    a_contains(name, "Not supported", "is not supported by this service"),
                ],
                wss=WSS_NAME,
            )
        )
    name = "WS wrong password"
    ws_steps.append(
        request_step(
            name,
            WS_IF,
            "GetCorrespondenceStatusDetailsV3",
            WS_EP,
            envelope(
                "ws", status_v3("ws", "${#TestCase#WsRef}"), body_ns=f'xmlns:ns="{NS}" xmlns:ns4="{C1602}"'
            ),
            [a_soap_response(name), a_fault(name), fault_error(name, "989")],
            wss="wrong password",
        )
    )

    def case(name: str, steps: list[str], properties: list[str]) -> str:
        prop_xml = "".join(
            f"<con:property><con:name>{p}</con:name><con:value/></con:property>" for p in properties
        )
        return (
            f'<con:testCase id="{_id(name)}" discardOkResults="false" failOnError="false" failTestCaseOnErrors="true" '
            f'keepSession="false" name="{escape(name)}" searchProperties="true" timeout="0">'
            "<con:settings/>" + "\n".join(steps) + f"<con:properties>{prop_xml}</con:properties>"
            "<con:reportParameters/></con:testCase>"
        )

    def operations(variant: str) -> str:
        ops = BASIC_OPS if variant == "basic" else WS_OPS
        return "".join(
            f'<con:operation id="{_id(variant + "/op/" + op)}" isOneWay="false" action="{action(variant, op)}" '
            f'name="{op}" bindingOperationName="{op}" type="Request-Response" inputName="" '
            'receivesAttachments="false" sendsAttachments="false" anonymous="optional"><con:settings/></con:operation>'
            for op in ops
        )

    def wss_entry(name: str, password: str) -> str:
        return (
            f"<con:outgoing><con:name>{escape(name)}</con:name>"
            f'<con:entry type="Username" username="{USER}" password="{escape(password)}">'
            "<con:configuration><addCreated>true</addCreated><addNonce>true</addNonce>"
            "<passwordType>PasswordText</passwordType></con:configuration></con:entry></con:outgoing>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<con:soapui-project id="{_id("project")}" activeEnvironment="Default" name="innbyggerpost" '
        'resourceRoot="" soapui-version="5.7.2" abortOnError="false" runType="SEQUENTIAL" '
        'xmlns:con="http://eviware.com/soapui/config">'
        "<con:settings/>\n"
        f'<con:interface xsi:type="con:WsdlInterface" id="{_id("basic")}" wsaVersion="NONE" name="{BASIC_IF}" '
        f'type="wsdl" bindingName="{{{NS}}}{BASIC_IF}" soapVersion="1_1" anonymous="optional" '
        f'definition="http://127.0.0.1:8080{BASIC_PATH}?wsdl" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<con:settings/><con:endpoints><con:endpoint>http://127.0.0.1:8080{BASIC_PATH}</con:endpoint></con:endpoints>"
        f"{operations('basic')}</con:interface>\n"
        f'<con:interface xsi:type="con:WsdlInterface" id="{_id("ws")}" wsaVersion="200508" name="{WS_IF}" '
        f'type="wsdl" bindingName="{{{NS}}}{WS_IF}" soapVersion="1_2" anonymous="optional" '
        f'definition="http://127.0.0.1:8080{WS_PATH}?wsdl" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<con:settings/><con:endpoints><con:endpoint>http://127.0.0.1:8080{WS_PATH}</con:endpoint></con:endpoints>"
        f"{operations('ws')}</con:interface>\n"
        f'<con:testSuite id="{_id("suite")}" name="innbyggerpost suite">'
        "<con:settings/><con:runType>SEQUENTIAL</con:runType>\n"
        + case("Basic (SOAP 1.1)", basic_steps, props)
        + "\n"
        + case("WS (SOAP 1.2, UsernameToken)", ws_steps, ["WsRef"])
        + "\n<con:properties/><con:reportParameters/></con:testSuite>\n"
        "<con:properties><con:property><con:name>BaseUrl</con:name>"
        "<con:value>http://127.0.0.1:8080</con:value></con:property></con:properties>\n"
        "<con:wssContainer>"
        + wss_entry(WSS_NAME, PASSWORD)
        + wss_entry("wrong password", "not-the-password")
        + "</con:wssContainer>\n"
        "<con:oAuth2ProfileContainer/><con:oAuth1ProfileContainer/><con:sensitiveInformation/>\n"
        "</con:soapui-project>\n"
    )


def curl_line(rel: str) -> str:
    variant, name = rel.split("/")
    op = name.removesuffix(".xml").split("-")[0]
    if variant == "basic":
        headers = f"-H 'Content-Type: text/xml; charset=utf-8' -H 'SOAPAction: \"{action(variant, op)}\"'"
        path = BASIC_PATH
    else:
        headers = f"-H 'Content-Type: application/soap+xml; charset=utf-8; action=\"{action(variant, op)}\"'"
        path = WS_PATH
    return f"curl -sS {headers} --data-binary @{rel} http://127.0.0.1:8080{path}"


README_HEAD = """# Ready-made requests

One SOAP request per operation of both variants, and one `InsertCorrespondence…V2` per forwarding
mode, each with the one-line `curl` that sends it to `make run`'s service (run them from this
directory). They are exactly what a service owner's system would send; `tests/e2e/test_examples.py`
runs every `curl` line below against the test stack (with a fresh `ExternalShipmentReference`) and
validates the request and the response against the schemas of the WSDL we publish.

- `basic/`: SOAP 1.1, credentials in the body (`systemUserName`/`systemPassword`; the history
  operation takes them as the `SystemUserName`/`SystemPassword` SOAP headers).
- `ws/`: SOAP 1.2 with a WS-Security UsernameToken, `PasswordText` **without** `Nonce`/`Created`:
  the service accepts that (as WCF clients over HTTPS send it), and a file with a fixed `wsu:Created`
  would be refused as stale after `INNBYGGERPOST_WSSE_MAX_AGE_SECONDS` (300 s). Send `Nonce` and
  `Created` only when you generate them per request. Use HTTPS outside a test machine.
- The demo credentials are `10001` / `demo-password`, owner `DEMO`, service `4503`/`1` (README).
- Sending the same `ExternalShipmentReference` again is answered from the first receipt (idempotency):
  change the reference in the file to send a new letter.
- `InsertCorrespondence…` (V1), `GetCorrespondenceStatusDetails…` (V1) and
  `CreateSimpleCorrespondenceService…` are answered with an `AltinnFault` saying the operation is not
  supported (use the V2/V3 operations); the files are here so that every operation has one.

The modes (see the README's walk-through):

| file suffix | reportee | SdpOptions | what happens |
|---|---|---|---|
"""


def readme() -> str:
    rows = "".join(
        f"| `-{mode}` | {reportee} | {'none' if sdp is None else sdp[0] + ('' if sdp[1] is None else ', BackupAltinn=' + sdp[1])} | {what} |\n"
        for mode, (reportee, sdp, what) in MODES.items()
    )
    lines = [README_HEAD + rows, "\n## The commands\n"]
    for variant in ("basic", "ws"):
        lines.append(f"\n### {variant}/\n\n")
        for rel in sorted(r for r in example_files() if r.startswith(variant + "/")):
            lines.append(f"`{rel}`:\n\n    {curl_line(rel)}\n\n")
    lines.append(
        "Add `| xmllint --format -` to read the answer. An HTTP 500 answer is a SOAP fault whose "
        "`AltinnFault` says what to fix.\n"
    )
    return "".join(lines)


def main() -> None:
    (HERE / "requests").mkdir(exist_ok=True)
    (HERE / "requests" / "README.md").write_text(readme(), encoding="utf-8")
    for rel, text in example_files().items():
        path = HERE / "requests" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (HERE / "soapui").mkdir(exist_ok=True)
    (HERE / "soapui" / "innbyggerpost-soapui-project.xml").write_text(project(), encoding="utf-8")


if __name__ == "__main__":
    main()
