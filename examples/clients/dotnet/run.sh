#!/usr/bin/env bash
# Generates ASMX proxies with Mono's `wsdl` from the served WSDLs, patches the two known problems,
# compiles Send.cs against them and runs it.  bash run.sh [BASE_URL]  (Debian: apt-get install mono-devel)
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cd "$OUT"
wsdl -nologo -namespace:Basic -out:BasicProxy.cs "$BASE/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc?wsdl" >/dev/null
wsdl -nologo -namespace:Ws -protocol:SOAP12 -out:WsProxy.cs "$BASE/ServiceEngineExternal/CorrespondenceAgencyExternal.svc?wsdl" >/dev/null
# Quirk 1: the history operation's two string SOAP headers become two classes (@string, string1) with
# the same XML type name xs:string; XmlSerializer refuses the proxy at the first call. Drop the
# XmlType attributes of those two header classes (their XmlRoot names stay).
python3 - BasicProxy.cs <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
s, n = re.subn(r'[ \t]*\[System\.Xml\.Serialization\.XmlTypeAttribute\((?:TypeName="string", )?Namespace="http://www\.w3\.org/2001/XMLSchema"\)\]\n(\s*\[System\.Xml\.Serialization\.XmlRootAttribute\("System(?:Password|UserName)")', r'\1', s)
assert n == 2, n
open(p, "w", encoding="utf-8").write(s)
PY
# Quirk 2: an ASMX proxy knows no WS-Security. Declare a wsse:Security SOAP header on every method
# of the WS proxy (Send.cs defines the header class and sets it).
python3 - WsProxy.cs <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
s, n = re.subn(r'\n([ \t]*)(\[System\.Web\.Services\.Protocols\.SoapDocumentMethodAttribute\()', r'\n\1[System.Web.Services.Protocols.SoapHeaderAttribute("Security")]\n\1\2', s)
assert n >= 8, n
s, n = re.subn(r"(public partial class CorrespondenceAgencyExternalSF : System\.Web\.Services\.Protocols\.SoapHttpClientProtocol \{)",
              r"\1\n        public WsseSecurity Security;", s, count=1)
assert n == 1
open(p, "w", encoding="utf-8").write(s)
PY
mcs -nologo -out:send.exe -r:System.Web.Services.dll -r:System.Xml.dll BasicProxy.cs WsProxy.cs "$HERE/Send.cs"
mono send.exe "$BASE"
