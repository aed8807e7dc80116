// A service owner's Java client for the WS (SOAP 1.2, WS-Security UsernameToken) variant, compiled
// against classes that `wsimport -extension -keep -Xnocompile` generated from the UNMODIFIED
// reference WSDL CorrespondenceAgencyExternal.wsdl; only the endpoint address is changed.
//
// The JAX-WS RI has no WS-Security without Metro's WSIT, so a SOAPHandler adds the wsse:Security
// header (wsu:Timestamp + UsernameToken with Nonce and Created), as such clients do. WS-Addressing
// 1.0 headers come from the RI's AddressingFeature.
//
// Usage: java WsClient <endpoint-url> <username> <password> <SystemUserCode> <ServiceCode> <run-id>
// Prints `key=value` lines like BasicClient.

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import javax.activation.DataHandler;
import javax.activation.DataSource;
import javax.xml.namespace.QName;
import javax.xml.soap.SOAPElement;
import javax.xml.soap.SOAPEnvelope;
import javax.xml.soap.SOAPHeader;
import javax.xml.soap.SOAPHeaderElement;
import javax.xml.ws.WebServiceFeature;
import javax.xml.ws.handler.MessageContext;
import javax.xml.ws.handler.soap.SOAPHandler;
import javax.xml.ws.handler.soap.SOAPMessageContext;
import javax.xml.ws.soap.AddressingFeature;

import no.altinn.services.serviceengine.correspondence._2009._10.CorrespondenceAgencyExternalSF;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternal;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternalGetCorrespondenceStatusDetailsV3AltinnFaultFaultFaultMessage;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternalInsertCorrespondenceV2AltinnFaultFaultFaultMessage;

public class WsClient {
    static final String WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    static final String WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    static final String TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
    static final String BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

    static String url;
    static CorrespondenceAgencyExternalSF serviceFactory;

    public static void main(String[] args) throws Exception {
        url = args[0];
        String user = args[1];
        String password = args[2];
        String code = args[3];
        String service = args[4];
        String run = args[5];
        Common.attachData = a -> a.setData(Common.R10.createBinaryAttachmentV2Data(
            new DataHandler(new BytesDataSource(Common.PDF, "application/pdf"))));
        Common.out("client", "started");

        // The RI evaluates the WSDL's wsaw:UsingAddressing (inside WS-Policy) as an unknown assertion
        // and sends no WS-Addressing headers by itself. WCF's binding needs them, so service owners
        // turn them on (AddressingFeature); the last steps also try a client that does not.
        AddressingFeature wsa = new AddressingFeature(true, true);
        ICorrespondenceAgencyExternal text = port(user, password, false, wsa);
        ICorrespondenceAgencyExternal digest = port(user, password, true, wsa);

        try {
            text.test();
            Common.out("wstest", "ok");
        } catch (Exception e) {
            Common.error("wstest", e);
        }

        try {
            Common.receipt("wsplain", text.insertCorrespondenceV2(
                code, run + "-wsplain", Common.letter(service, "01018010018", null)));
        } catch (Exception e) {
            Common.error("wsplain", e);
        }

        String sdpRef = run + "-wssdp";
        try {
            Common.receipt("wssdp", digest.insertCorrespondenceV2(
                code, sdpRef, Common.letter(service, "01018010018", Common.forwardOnly())));
        } catch (Exception e) {
            Common.error("wssdp", e);
        }

        try {
            Common.v3("wsv3", digest.getCorrespondenceStatusDetailsV3(Common.filter(service, sdpRef)));
        } catch (Exception e) {
            Common.error("wsv3", e);
        }

        try {
            port(user, password + "-wrong", false, wsa).insertCorrespondenceV2(
                code, run + "-wsbadpw", Common.letter(service, "01018010018", null));
            Common.out("wsbadpw", "no fault");
        } catch (ICorrespondenceAgencyExternalInsertCorrespondenceV2AltinnFaultFaultFaultMessage e) {
            Common.fault("wsbadpw", e, e.getFaultInfo());
        } catch (Exception e) {
            Common.error("wsbadpw", e);
        }
        try {
            port(user, password + "-wrong", true, wsa).getCorrespondenceStatusDetailsV3(Common.filter(service, sdpRef));
            Common.out("wsbadpwv3", "no fault");
        } catch (ICorrespondenceAgencyExternalGetCorrespondenceStatusDetailsV3AltinnFaultFaultFaultMessage e) {
            Common.fault("wsbadpwv3", e, e.getFaultInfo());
        } catch (Exception e) {
            Common.error("wsbadpwv3", e);
        }

        // The generated client as it comes, without WS-Addressing: it rejects any header with
        // mustUnderstand that it does not know (wsa:Action included).
        ICorrespondenceAgencyExternal bare = port(user, password, false);
        try {
            bare.test();
            Common.out("noaddr.test", "ok");
        } catch (Exception e) {
            Common.error("noaddr.test", e);
        }
        try {
            Common.receipt("noaddr.insert", bare.insertCorrespondenceV2(
                code, run + "-noaddr", Common.letter(service, "01018010018", null)));
        } catch (Exception e) {
            Common.error("noaddr.insert", e);
        }
        try {
            port(user, password + "-wrong", false).insertCorrespondenceV2(
                code, run + "-noaddrbadpw", Common.letter(service, "01018010018", null));
            Common.out("noaddr.badpw", "no fault");
        } catch (ICorrespondenceAgencyExternalInsertCorrespondenceV2AltinnFaultFaultFaultMessage e) {
            Common.fault("noaddr.badpw", e, e.getFaultInfo());
        } catch (Exception e) {
            Common.error("noaddr.badpw", e);
        }
        Common.out("client", "done");
    }

    static ICorrespondenceAgencyExternal port(String user, String password, boolean digest, WebServiceFeature... f) {
        if (serviceFactory == null) {
            serviceFactory = new CorrespondenceAgencyExternalSF(); // reads the WSDL: once
        }
        ICorrespondenceAgencyExternal port = serviceFactory.getCustomBindingICorrespondenceAgencyExternal(f);
        Common.setAddress(port, url);
        Common.addHandler(port, new UsernameTokenHandler(user, password, digest));
        return port;
    }

    static class BytesDataSource implements DataSource {
        final byte[] data;
        final String type;

        BytesDataSource(byte[] data, String type) {
            this.data = data;
            this.type = type;
        }

        public InputStream getInputStream() {
            return new ByteArrayInputStream(data);
        }

        public OutputStream getOutputStream() throws IOException {
            throw new IOException("read-only");
        }

        public String getContentType() {
            return type;
        }

        public String getName() {
            return "brev.pdf";
        }
    }

    /** wsse:Security with wsu:Timestamp and a UsernameToken (PasswordText or PasswordDigest). */
    static class UsernameTokenHandler implements SOAPHandler<SOAPMessageContext> {
        static final SecureRandom RANDOM = new SecureRandom();
        final String user;
        final String password;
        final boolean digest;

        UsernameTokenHandler(String user, String password, boolean digest) {
            this.user = user;
            this.password = password;
            this.digest = digest;
        }

        public boolean handleMessage(SOAPMessageContext ctx) {
            if (!(Boolean) ctx.get(MessageContext.MESSAGE_OUTBOUND_PROPERTY)) {
                return true;
            }
            try {
                Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
                String created = now.toString();
                byte[] nonce = new byte[16];
                RANDOM.nextBytes(nonce);

                SOAPEnvelope env = ctx.getMessage().getSOAPPart().getEnvelope();
                SOAPHeader h = env.getHeader() != null ? env.getHeader() : env.addHeader();
                SOAPHeaderElement sec = h.addHeaderElement(new QName(WSSE, "Security", "wsse"));
                sec.setMustUnderstand(true);
                sec.addNamespaceDeclaration("wsu", WSU);

                SOAPElement ts = sec.addChildElement("Timestamp", "wsu", WSU);
                ts.addAttribute(new QName(WSU, "Id", "wsu"), "_0");
                ts.addChildElement("Created", "wsu", WSU).addTextNode(created);
                ts.addChildElement("Expires", "wsu", WSU).addTextNode(now.plusSeconds(300).toString());

                SOAPElement tok = sec.addChildElement("UsernameToken", "wsse", WSSE);
                tok.addAttribute(new QName(WSU, "Id", "wsu"), "uuid-" + java.util.UUID.randomUUID() + "-1");
                tok.addChildElement("Username", "wsse", WSSE).addTextNode(user);
                SOAPElement pw = tok.addChildElement("Password", "wsse", WSSE);
                if (digest) {
                    MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
                    sha1.update(nonce);
                    sha1.update(created.getBytes(StandardCharsets.UTF_8));
                    sha1.update(password.getBytes(StandardCharsets.UTF_8));
                    pw.setAttribute("Type", TOKEN_PROFILE + "#PasswordDigest");
                    pw.addTextNode(Base64.getEncoder().encodeToString(sha1.digest()));
                } else {
                    pw.setAttribute("Type", TOKEN_PROFILE + "#PasswordText");
                    pw.addTextNode(password);
                }
                SOAPElement n = tok.addChildElement("Nonce", "wsse", WSSE);
                n.setAttribute("EncodingType", BASE64);
                n.addTextNode(Base64.getEncoder().encodeToString(nonce));
                tok.addChildElement("Created", "wsu", WSU).addTextNode(created);
                ctx.getMessage().saveChanges();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
            return true;
        }

        public boolean handleFault(SOAPMessageContext ctx) {
            return true;
        }

        public void close(MessageContext ctx) {
        }

        /** Understood, so a wsse:Security header in a response does not fail mustUnderstand checks. */
        public Set<QName> getHeaders() {
            Set<QName> s = new HashSet<>();
            s.add(new QName(WSSE, "Security"));
            return Collections.unmodifiableSet(s);
        }
    }
}
