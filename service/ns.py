"""Every XML namespace URI the project uses, in one place (constants, no logic).

After python-zeep's ``zeep/ns.py``. Service, clients, simulators, the build tools and the generated
contract modules import their namespaces from here; a new namespace gets a constant here first.
Grouped by the standard or contract that defines it.
"""

# --- XML, XML Schema --------------------------------------------------------------------------
XML = "http://www.w3.org/XML/1998/namespace"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XMIME = "http://www.w3.org/2005/05/xmlmime"

# --- SOAP envelopes and WSDL 1.1 --------------------------------------------------------------
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
SOAP_HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"

# --- WS-Addressing, WS-Policy, WS-MetadataExchange ---------------------------------------------
WSA10 = "http://www.w3.org/2005/08/addressing"
WSA_2004_08 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSAW = "http://www.w3.org/2006/05/addressing/wsdl"
WSAM = "http://www.w3.org/2007/05/addressing/metadata"
WSAP = "http://schemas.xmlsoap.org/ws/2004/08/addressing/policy"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSX = "http://schemas.xmlsoap.org/ws/2004/09/mex"
SP = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"
MSC = "http://schemas.microsoft.com/ws/2005/12/wsdl/contract"

# --- WS-Security (OASIS WSS 1.0) and XML Signature / Encryption ---------------------------------
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSS_USERNAME_TOKEN_PROFILE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
)
WSS_SOAP_MESSAGE_SECURITY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0"
)
DS = "http://www.w3.org/2000/09/xmldsig#"
DS_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
XMLENC_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

# --- Microsoft WCF data contract serialization --------------------------------------------------
MS_SERIALIZATION = "http://schemas.microsoft.com/2003/10/Serialization/"
MS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"

# --- Altinn 2 correspondence contract (CorrespondenceAgencyExternal) ----------------------------
ALTINN_SERVICES_2009_10 = "http://www.altinn.no/services/2009/10"
ALTINN_FAULT_2009_10 = "http://www.altinn.no/services/common/fault/2009/10"
ALTINN_SERVICE = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"
ALTINN_CORRESPONDENCE_2009_10 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2009/10"
ALTINN_CORRESPONDENCE_2010_10 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10"
ALTINN_CORRESPONDENCE_2013_06 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2013/06"
ALTINN_CORRESPONDENCE_2013_11 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2013/11"
ALTINN_CORRESPONDENCE_2014_10 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2014/10"
ALTINN_CORRESPONDENCE_2016_02 = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2016/02"
ALTINN_SERVICE_ENTITY_2013_11 = "http://schemas.altinn.no/services/serviceEntity/2013/11"
ALTINN_SERVICE_ENTITY_2014_10 = "http://schemas.altinn.no/services/serviceEntity/2014/10"
ALTINN_FORMSENGINE_2009_10 = "http://schemas.altinn.no/serviceengine/formsengine/2009/10"
ALTINN_REPORTEE_ELEMENT_LIST_2009_10 = (
    "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2009/10"
)
ALTINN_REPORTEE_ELEMENT_LIST_2010_10 = (
    "http://www.altinn.no/services/ServiceEngine/ReporteeElementList/2010/10"
)
ALTINN_SUBSCRIPTION_2009_10 = "http://schemas.altinn.no/services/ServiceEngine/Subscription/2009/10"
ALTINN_NOTIFICATION_2009_10 = "http://schemas.altinn.no/services/ServiceEngine/Notification/2009/10"
ALTINN_RECEIPT_2009_10 = "http://schemas.altinn.no/services/Intermediary/Receipt/2009/10"
ALTINN_SHIPMENT_2009_10 = "http://schemas.altinn.no/services/Intermediary/Shipment/2009/10"

# --- KRR (Kontakt- og reservasjonsregisteret), oppslagstjeneste 16-02 ---------------------------
KRR_OPPSLAGSTJENESTE = "http://kontaktinfo.difi.no/xsd/oppslagstjeneste/16-02"
KRR_METADATA = "http://begrep.difi.no"

# --- SDP (sikker digital post): the DPI document package's manifest (clients/dpi) ---------------
SDP = "http://begrep.difi.no/sdp/schema_v10"
