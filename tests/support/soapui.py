"""A small replayer of SoapUI 5 projects: enough of SoapUI's behaviour to run our project file.

It reads ``con:soapui-project`` XML and, for one test case, does what SoapUI's test runner does for
the step types, property expansions and assertions our project uses, and refuses anything else (so a
project edited in SoapUI with a feature this replayer does not know fails the test instead of being
skipped silently):

- steps: ``request`` (WSDL request), ``transfer`` (property transfer from a response by XPath into a
  ``#TestCase#``/``#TestSuite#``/``#Project#`` property), ``delay``;
- expansions: ``${#Project#P}``, ``${#TestSuite#P}``, ``${#TestCase#P}``, and the inline Groovy
  ``${=java.util.UUID.randomUUID()}``;
- outgoing WS-Security: a ``Username`` entry, sent as SoapUI (WSS4J) does: a ``wsse:Security`` header
  with ``mustUnderstand``, a ``UsernameToken`` with ``wsu:Id``, Username, Password (PasswordText or
  PasswordDigest), a fresh base64 Nonce and ``wsu:Created`` when configured;
- WS-Addressing 2005/08 when the request has ``useWsAddressing="true"``: Action, To, MessageID;
- assertions: ``SOAP Response``, ``SOAP Fault Assertion`` (SoapUI's "Not SOAP Fault"), ``Not SOAP Fault
  Assertion`` (SoapUI's "SOAP Fault"), ``XPath Match`` (XPath with ``declare namespace`` prologue and
  ``*:`` wildcards, as SoapUI's Saxon accepts), ``Simple Contains``.

A ``delay`` step stands for "let the delivery worker do its part": SoapUI sleeps, the replayer
instead retries each later request step of the case until its assertions pass, within
``settle_seconds`` (polling an observable condition, never a sleep that must be long enough).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
from lxml import etree

CON = "http://eviware.com/soapui/config"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
UTP = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
B64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
WSA = "http://www.w3.org/2005/08/addressing"

_C = {"con": CON}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_EXPANSION = re.compile(r"\$\{([^}]*)\}")


class ProjectError(AssertionError):
    """The project uses something this replayer does not implement, or is inconsistent."""


def _text(el: etree._Element | None, path: str) -> str:
    if el is None:
        return ""
    found = el.find(path, _C)
    return "" if found is None or found.text is None else found.text


@dataclass
class Interface:
    name: str
    soap_version: str  # "1_1" | "1_2"
    binding: str
    definition: str
    endpoints: list[str]
    actions: dict[str, str]

    @property
    def envelope_ns(self) -> str:
        return S11 if self.soap_version == "1_1" else S12


@dataclass
class WssOutgoing:
    name: str
    username: str
    password: str
    password_type: str
    add_nonce: bool
    add_created: bool


@dataclass
class Assertion:
    type: str
    name: str
    config: etree._Element | None


@dataclass
class Step:
    type: str
    name: str
    el: etree._Element
    interface: str = ""
    operation: str = ""
    endpoint: str = ""
    body: str = ""
    outgoing_wss: str = ""
    use_wsa: bool = False
    wsa: dict[str, str] = field(default_factory=dict)
    assertions: list[Assertion] = field(default_factory=list)


@dataclass
class TestCase:
    name: str
    suite: str
    steps: list[Step]
    properties: dict[str, str]


def _properties(parent: etree._Element | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if parent is None:
        return out
    for prop in parent.findall("con:properties/con:property", _C):
        out[_text(prop, "con:name")] = _text(prop, "con:value")
    return out


class Project:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = etree.parse(str(path), _PARSER).getroot()
        if self.root.tag != f"{{{CON}}}soapui-project":
            raise ProjectError(f"{path}: root is {self.root.tag}, not con:soapui-project")
        self.properties = _properties(self.root)
        self.interfaces: dict[str, Interface] = {}
        for el in self.root.findall("con:interface", _C):
            if el.get(f"{{{XSI}}}type") != "con:WsdlInterface":
                raise ProjectError(f"interface {el.get('name')}: only WSDL interfaces are supported")
            name = el.get("name", "")
            self.interfaces[name] = Interface(
                name=name,
                soap_version=el.get("soapVersion", ""),
                binding=el.get("bindingName", ""),
                definition=el.get("definition", ""),
                endpoints=[e.text or "" for e in el.findall("con:endpoints/con:endpoint", _C)],
                actions={op.get("name", ""): op.get("action", "") for op in el.findall("con:operation", _C)},
            )
        self.wss: dict[str, WssOutgoing] = {}
        for out in self.root.findall("con:wssContainer/con:outgoing", _C):
            entries = out.findall("con:entry", _C)
            if len(entries) != 1 or entries[0].get("type") != "Username":
                raise ProjectError(
                    f"outgoing WSS {_text(out, 'con:name')!r}: only one Username entry is supported"
                )
            e = entries[0]
            cfg = e.find("con:configuration", _C)

            def flag(tag: str, cfg: etree._Element | None = cfg) -> bool:
                return cfg is not None and (cfg.findtext(tag) or "").strip() == "true"

            self.wss[_text(out, "con:name")] = WssOutgoing(
                name=_text(out, "con:name"),
                username=e.get("username", ""),
                password=e.get("password", ""),
                password_type=(cfg.findtext("passwordType") if cfg is not None else "") or "PasswordText",
                add_nonce=flag("addNonce"),
                add_created=flag("addCreated"),
            )
        self.suites = {s.get("name", ""): s for s in self.root.findall("con:testSuite", _C)}

    def test_cases(self) -> list[TestCase]:
        cases = []
        for suite_name, suite in self.suites.items():
            for tc in suite.findall("con:testCase", _C):
                steps = [self._step(s) for s in tc.findall("con:testStep", _C)]
                cases.append(TestCase(tc.get("name", ""), suite_name, steps, _properties(tc)))
        return cases

    def suite_properties(self, suite: str) -> dict[str, str]:
        return _properties(self.suites[suite])

    @staticmethod
    def _step(el: etree._Element) -> Step:
        kind = el.get("type", "")
        step = Step(type=kind, name=el.get("name", ""), el=el)
        if kind == "request":
            cfg = el.find("con:config", _C)
            req = cfg.find("con:request", _C) if cfg is not None else None
            if cfg is None or req is None:
                raise ProjectError(f"request step {step.name!r} without con:config/con:request")
            step.interface = _text(cfg, "con:interface")
            step.operation = _text(cfg, "con:operation")
            step.endpoint = _text(req, "con:endpoint")
            step.body = _text(req, "con:request")
            step.outgoing_wss = req.get("outgoingWss", "")
            step.use_wsa = req.get("useWsAddressing") == "true"
            wsa = req.find("con:wsaConfig", _C)
            step.wsa = dict(wsa.attrib) if wsa is not None else {}
            step.assertions = [
                Assertion(a.get("type", ""), a.get("name", ""), a.find("con:configuration", _C))
                for a in req.findall("con:assertion", _C)
            ]
        elif kind not in ("transfer", "delay"):
            raise ProjectError(f"step {step.name!r}: step type {kind!r} is not supported by the replayer")
        return step


# ----------------------------------------------------------------------------------------- XPath


def _xpath_parts(expression: str) -> tuple[dict[str, str], str]:
    """Split SoapUI's ``declare namespace p='uri';`` prologue off; rewrite ``*:name`` for XPath 1.0."""
    namespaces: dict[str, str] = {}
    rest = expression
    pattern = re.compile(r"\s*declare\s+namespace\s+([A-Za-z_][\w.-]*)\s*=\s*(['\"])(.*?)\2\s*;")
    while True:
        m = pattern.match(rest)
        if not m:
            break
        namespaces[m.group(1)] = m.group(3)
        rest = rest[m.end() :]
    rest = re.sub(r"\*:([A-Za-z_][\w.-]*)", r"*[local-name()='\1']", rest.strip())
    return namespaces, rest


def xpath_value(doc: etree._Element, expression: str) -> str | None:
    """The string SoapUI compares in an XPath Match: first node's text, or the scalar's string."""
    namespaces, path = _xpath_parts(expression)
    result = doc.xpath(path, namespaces=namespaces)
    if isinstance(result, list):
        if not result:
            return None
        first = result[0]
        if isinstance(first, etree._Element):
            return "".join(first.itertext())
        return str(first)
    if isinstance(result, float):
        return str(int(result)) if result.is_integer() else str(result)
    if isinstance(result, bool):
        return "true" if result else "false"
    return str(result)


# ----------------------------------------------------------------------------------------- runner


@dataclass
class StepResult:
    step: str
    request: bytes = b""
    status: int = 0
    response: bytes = b""
    failures: list[str] = field(default_factory=list)


class Runner:
    """Runs the test cases of one project against ``base_url`` (overrides the ``BaseUrl`` property)."""

    def __init__(self, project: Project, overrides: dict[str, str], settle_seconds: float = 60.0) -> None:
        self.project = project
        self.project_props = {**project.properties, **overrides}
        self.settle_seconds = settle_seconds
        self.session = requests.Session()

    def expand(self, text: str, case: TestCase, suite_props: dict[str, str]) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1)
            if expr.startswith("="):
                if expr.replace(" ", "") == "=java.util.UUID.randomUUID()":
                    return str(uuid.uuid4())
                raise ProjectError(f"inline script ${{{expr}}} is not supported by the replayer")
            scope, _, name = expr.lstrip("#").partition("#")
            props = {
                "Project": self.project_props,
                "TestSuite": suite_props,
                "TestCase": case.properties,
            }.get(scope)
            if props is None or not name:
                raise ProjectError(f"property expansion ${{{expr}}} is not supported by the replayer")
            if name not in props:
                raise ProjectError(f"${{{expr}}}: no {scope} property {name!r}")
            return props[name]

        return _EXPANSION.sub(one, text)

    def _security(self, wss: WssOutgoing, env_ns: str) -> etree._Element:
        sec = etree.Element(f"{{{WSSE}}}Security", nsmap={"wsse": WSSE, "wsu": WSU})
        sec.set(f"{{{env_ns}}}mustUnderstand", "1")
        token = etree.SubElement(sec, f"{{{WSSE}}}UsernameToken")
        token.set(f"{{{WSU}}}Id", "UsernameToken-" + uuid.uuid4().hex.upper())
        etree.SubElement(token, f"{{{WSSE}}}Username").text = wss.username
        nonce = os.urandom(16)
        created = (
            dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{dt.datetime.now(dt.UTC).microsecond // 1000:03d}Z"
        )
        password = etree.SubElement(token, f"{{{WSSE}}}Password")
        if wss.password_type == "PasswordDigest":
            password.set("Type", UTP + "#PasswordDigest")
            digest = hashlib.sha1(nonce + created.encode() + wss.password.encode()).digest()  # noqa: S324 - the profile's algorithm
            password.text = base64.b64encode(digest).decode()
        elif wss.password_type == "PasswordText":
            password.set("Type", UTP + "#PasswordText")
            password.text = wss.password
        else:
            raise ProjectError(f"WSS passwordType {wss.password_type!r} is not supported")
        if wss.add_nonce or wss.password_type == "PasswordDigest":
            n = etree.SubElement(token, f"{{{WSSE}}}Nonce")
            n.set("EncodingType", B64)
            n.text = base64.b64encode(nonce).decode()
        if wss.add_created or wss.password_type == "PasswordDigest":
            etree.SubElement(token, f"{{{WSU}}}Created").text = created
        return sec

    def build_request(
        self, step: Step, case: TestCase, suite_props: dict[str, str], expanded_body: str | None = None
    ) -> tuple[str, bytes, dict[str, str]]:
        """Endpoint, envelope bytes (with WS-Addressing and WS-Security as configured) and HTTP headers."""
        iface = self.project.interfaces.get(step.interface)
        if iface is None:
            raise ProjectError(f"step {step.name!r}: unknown interface {step.interface!r}")
        if step.operation not in iface.actions:
            raise ProjectError(
                f"step {step.name!r}: interface {iface.name} has no operation {step.operation!r}"
            )
        soap_action = iface.actions[step.operation]
        endpoint = self.expand(step.endpoint, case, suite_props)
        if expanded_body is None:
            expanded_body = self.expand(step.body, case, suite_props)
        doc = etree.fromstring(expanded_body.encode("utf-8"), _PARSER)
        env = iface.envelope_ns
        if doc.tag != f"{{{env}}}Envelope":
            raise ProjectError(f"step {step.name!r}: request is not a SOAP {iface.soap_version} envelope")
        header = doc.find(f"{{{env}}}Header")
        if header is None:
            header = etree.Element(f"{{{env}}}Header")
            doc.insert(0, header)
        if step.use_wsa:
            if step.wsa.get("version") != "200508":
                raise ProjectError(f"step {step.name!r}: WS-Addressing version {step.wsa.get('version')!r}")
            wsa_action = step.wsa.get("action") or soap_action
            if wsa_action != soap_action:
                raise ProjectError(
                    f"step {step.name!r}: wsa action {wsa_action} != operation action {soap_action}"
                )
            etree.SubElement(header, f"{{{WSA}}}Action", nsmap={"wsa": WSA}).text = wsa_action
            if step.wsa.get("generateMessageId") == "true":
                etree.SubElement(
                    header, f"{{{WSA}}}MessageID", nsmap={"wsa": WSA}
                ).text = f"uuid:{uuid.uuid4()}"
            if step.wsa.get("addDefaultTo") == "true":
                etree.SubElement(header, f"{{{WSA}}}To", nsmap={"wsa": WSA}).text = endpoint
        if step.outgoing_wss:
            wss = self.project.wss.get(step.outgoing_wss)
            if wss is None:
                raise ProjectError(f"step {step.name!r}: no outgoing WSS configuration {step.outgoing_wss!r}")
            header.insert(0, self._security(wss, env))
        body = etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
        if iface.soap_version == "1_1":
            headers = {"Content-Type": "text/xml;charset=UTF-8", "SOAPAction": f'"{soap_action}"'}
        else:
            headers = {"Content-Type": f'application/soap+xml;charset=UTF-8;action="{soap_action}"'}
        return endpoint, body, headers

    def check(self, step: Step, status: int, response: bytes) -> list[str]:
        iface = self.project.interfaces[step.interface]
        env = iface.envelope_ns
        failures: list[str] = []
        try:
            doc: etree._Element | None = etree.fromstring(response, _PARSER)
        except etree.XMLSyntaxError as exc:
            doc = None
            failures.append(f"response is not XML: {exc}")
        is_fault = doc is not None and doc.find(f"{{{env}}}Body/{{{env}}}Fault") is not None
        text = response.decode("utf-8", "replace")
        if not step.assertions:
            failures.append("request step without assertions")
        for a in step.assertions:
            where = f"assertion {a.name!r}"
            if a.type == "SOAP Response":
                if doc is None or doc.tag != f"{{{env}}}Envelope" or doc.find(f"{{{env}}}Body") is None:
                    failures.append(f"{where}: not a SOAP {iface.soap_version} response")
            elif a.type == "SOAP Fault Assertion":  # SoapUI's label: "Not SOAP Fault"
                if is_fault:
                    failures.append(f"{where}: the response is a SOAP Fault: {text[:400]}")
            elif a.type == "Not SOAP Fault Assertion":  # SoapUI's label: "SOAP Fault"
                if not is_fault:
                    failures.append(f"{where}: the response is not a SOAP Fault")
            elif a.type == "XPath Match":
                if a.config is None:
                    raise ProjectError(f"step {step.name!r} {where}: no configuration")
                path = a.config.findtext("path")
                expected = a.config.findtext("content") or ""
                if not path:
                    raise ProjectError(f"step {step.name!r} {where}: no path")
                if (a.config.findtext("allowWildcards") or "false") != "false":
                    raise ProjectError(f"step {step.name!r} {where}: wildcards are not supported")
                actual = xpath_value(doc, path) if doc is not None else None
                if actual != expected:
                    failures.append(f"{where}: {path.splitlines()[-1]} is {actual!r}, expected {expected!r}")
            elif a.type == "Simple Contains":
                if a.config is None:
                    raise ProjectError(f"step {step.name!r} {where}: no configuration")
                token = a.config.findtext("token") or ""
                if (a.config.findtext("useRegEx") or "false") != "false":
                    raise ProjectError(f"step {step.name!r} {where}: regular expressions are not supported")
                haystack, needle = (
                    (text.lower(), token.lower())
                    if a.config.findtext("ignoreCase") == "true"
                    else (text, token)
                )
                if needle not in haystack:
                    failures.append(f"{where}: response does not contain {token!r}")
            else:
                raise ProjectError(
                    f"step {step.name!r}: assertion type {a.type!r} is not supported by the replayer"
                )
        return failures

    def _transfer(
        self, step: Step, case: TestCase, suite_props: dict[str, str], results: dict[str, StepResult]
    ) -> list[str]:
        failures = []
        for t in step.el.findall("con:config/con:transfers", _C):
            source_type = _text(t, "con:sourceType")
            source = _text(t, "con:sourceStep")
            if source_type != "Response":
                raise ProjectError(f"transfer {step.name!r}: source type {source_type!r} is not supported")
            if source not in results:
                failures.append(f"transfer {step.name!r}: source step {source!r} has not run")
                continue
            value = xpath_value(
                etree.fromstring(results[source].response, _PARSER), _text(t, "con:sourcePath")
            )
            if value is None and t.get("failOnError") == "true":
                failures.append(
                    f"transfer {step.name!r}: {_text(t, 'con:sourcePath')} found nothing in {source!r}"
                )
            target = _text(t, "con:targetStep")
            props = {
                "#TestCase#": case.properties,
                "#TestSuite#": suite_props,
                "#Project#": self.project_props,
            }.get(target)
            if props is None:
                raise ProjectError(f"transfer {step.name!r}: target {target!r} is not supported")
            props[_text(t, "con:targetType")] = value or ""
        return failures

    def run_case(self, case: TestCase) -> list[StepResult]:
        suite_props = self.project.suite_properties(case.suite)
        results: dict[str, StepResult] = {}
        settle = False
        for step in case.steps:
            if step.type == "delay":
                settle = True
                results[step.name] = StepResult(step.name)
                continue
            if step.type == "transfer":
                results[step.name] = StepResult(
                    step.name, failures=self._transfer(step, case, suite_props, results)
                )
                continue
            expanded = self.expand(step.body, case, suite_props)  # once: a retry sends the same references
            endpoint, body, headers = self.build_request(step, case, suite_props, expanded)
            deadline = time.monotonic() + (self.settle_seconds if settle else 0)
            while True:
                r = self.session.post(endpoint, data=body, headers=headers, timeout=60)
                result = StepResult(
                    step.name, body, r.status_code, r.content, self.check(step, r.status_code, r.content)
                )
                if not result.failures or time.monotonic() >= deadline:
                    break
                time.sleep(0.25)
                endpoint, body, headers = self.build_request(step, case, suite_props, expanded)  # fresh nonce
            results[step.name] = result
        return list(results.values())


def describe(results: list[StepResult]) -> str:
    lines = []
    for r in results:
        for f in r.failures:
            lines.append(f"[{r.step}] {f}")
    return "\n".join(lines)
