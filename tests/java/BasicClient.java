// A service owner's Java client for the Basic (SOAP 1.1) variant, compiled against classes that
// `wsimport -keep -Xnocompile` generated from the UNMODIFIED reference WSDL
// CorrespondenceAgencyExternalBasic.wsdl. Only the endpoint address is changed, the way JAX-WS users
// do it (BindingProvider.ENDPOINT_ADDRESS_PROPERTY).
//
// Usage: java BasicClient <endpoint-url> <systemUserName> <systemPassword> <SystemUserCode>
//        <ServiceCode> <run-id> [<seconds to wait for delivery>]
// Prints one `key=value` line per result (tests/test_java_client.py parses them). A step that
// throws prints `<step>.error=<class>: <message>` and the run goes on.

import java.util.Collections;
import java.util.Set;
import javax.xml.namespace.QName;
import javax.xml.soap.SOAPEnvelope;
import javax.xml.soap.SOAPHeader;
import javax.xml.ws.handler.MessageContext;
import javax.xml.ws.handler.soap.SOAPHandler;
import javax.xml.ws.handler.soap.SOAPMessageContext;

import com.microsoft.schemas._2003._10.serialization.arrays.ArrayOfstring;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.CorrespondenceStatusResultV3;
import no.altinn.services.serviceengine.correspondence._2009._10.CorrespondenceAgencyExternalBasicSF;
import no.altinn.services.serviceengine.correspondence._2009._10.CorrespondenceStatusHistoryRequest;
import no.altinn.services.serviceengine.correspondence._2009._10.CorrespondenceStatusHistoryResult;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternalBasic;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternalBasicGetCorrespondenceStatusDetailsBasicV3AltinnFaultFaultFaultMessage;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternalBasicGetCorrespondenceStatusHistoryBasicAltinnFaultFaultFaultMessage;
import no.altinn.services.serviceengine.correspondence._2009._10.ICorrespondenceAgencyExternalBasicInsertCorrespondenceBasicV2AltinnFaultFaultFaultMessage;
import no.altinn.services.serviceengine.correspondence._2009._10.ObjectFactory;

public class BasicClient {
    static String url;
    static String user;
    static CorrespondenceAgencyExternalBasicSF serviceFactory;

    public static void main(String[] args) throws Exception {
        url = args[0];
        user = args[1];
        String password = args[2];
        String code = args[3];
        String service = args[4];
        String run = args[5];
        double waitSeconds = args.length > 6 ? Double.parseDouble(args[6]) : 0;

        ICorrespondenceAgencyExternalBasic port = port();
        Common.attachData = a -> a.setData(Common.R10.createBinaryAttachmentV2Data(Common.PDF));
        Common.out("client", "started");

        try {
            port.test();
            Common.out("test", "ok");
        } catch (Exception e) {
            Common.error("test", e);
        }

        String plainRef = run + "-plain";
        try {
            Common.receipt("plain", port.insertCorrespondenceBasicV2(
                user, password, code, plainRef, Common.letter(service, "01018010018", null)));
        } catch (Exception e) {
            Common.error("plain", e);
        }

        String sdpRef = run + "-sdp";
        try {
            Common.receipt("sdp", port.insertCorrespondenceBasicV2(
                user, password, code, sdpRef, Common.letter(service, "01018010018", Common.forwardOnly())));
        } catch (Exception e) {
            Common.error("sdp", e);
        }

        // The same ExternalShipmentReference again: the original receipt comes back.
        try {
            Common.receipt("repeat", port.insertCorrespondenceBasicV2(
                user, password, code, sdpRef, Common.letter(service, "01018010018", Common.forwardOnly())));
        } catch (Exception e) {
            Common.error("repeat", e);
        }

        String noboxRef = run + "-nobox";
        try {
            Common.receipt("nobox", port.insertCorrespondenceBasicV2(
                user, password, code, noboxRef, Common.letter(service, "03038210008", Common.forwardOnly())));
        } catch (Exception e) {
            Common.error("nobox", e);
        }

        try {
            Common.receipt("invalid", port.insertCorrespondenceBasicV2(
                user, password, code, run + "-invalid", Common.letter(service, "01018010019", null)));
        } catch (Exception e) {
            Common.error("invalid", e);
        }

        try {
            Common.v3("v3sdp", port.getCorrespondenceStatusDetailsBasicV3(user, password, Common.filter(service, sdpRef)));
        } catch (Exception e) {
            Common.error("v3sdp", e);
        }
        try {
            Common.v3("v3nobox",
                port.getCorrespondenceStatusDetailsBasicV3(user, password, Common.filter(service, noboxRef)));
        } catch (Exception e) {
            Common.error("v3nobox", e);
        }

        // With a delivery worker running: poll V3 until the forwarded letter is delivered.
        if (waitSeconds > 0) {
            try {
                long deadline = System.nanoTime() + (long) (waitSeconds * 1e9);
                int polls = 0;
                CorrespondenceStatusResultV3 r;
                while (true) {
                    polls++;
                    r = port.getCorrespondenceStatusDetailsBasicV3(user, password, Common.filter(service, sdpRef));
                    if (Common.delivered(r) || System.nanoTime() > deadline) {
                        break;
                    }
                    Thread.sleep(250);
                }
                Common.out("v3final.polls", polls);
                Common.v3("v3final", r);
            } catch (Exception e) {
                Common.error("v3final", e);
            }
        }

        // GetCorrespondenceStatusHistoryBasic: the credentials are SOAP headers bound outside the
        // portType (a WCF message contract), which plain wsimport does not turn into parameters: a
        // handler adds them, as service owners' Java clients do.
        try {
            CorrespondenceStatusHistoryResult res = history(password, sdpRef, noboxRef);
            Common.corrInfo("history", Common.v(res.getCorrespondenceStatusInformation()));
            Common.sdpInfo("history", Common.v(res.getSdpStatusInformation()));
        } catch (Exception e) {
            Common.error("history", e);
        }

        // Wrong password: the typed fault of the generated code, with AltinnFault as fault info.
        try {
            port.insertCorrespondenceBasicV2(
                user, password + "-wrong", code, run + "-badpw", Common.letter(service, "01018010018", null));
            Common.out("badpw", "no fault");
        } catch (ICorrespondenceAgencyExternalBasicInsertCorrespondenceBasicV2AltinnFaultFaultFaultMessage e) {
            Common.fault("badpw", e, e.getFaultInfo());
        } catch (Exception e) {
            Common.error("badpw", e);
        }
        try {
            port.getCorrespondenceStatusDetailsBasicV3(user, password + "-wrong", Common.filter(service, sdpRef));
            Common.out("badpwv3", "no fault");
        } catch (ICorrespondenceAgencyExternalBasicGetCorrespondenceStatusDetailsBasicV3AltinnFaultFaultFaultMessage e) {
            Common.fault("badpwv3", e, e.getFaultInfo());
        } catch (Exception e) {
            Common.error("badpwv3", e);
        }
        try {
            history(password + "-wrong", sdpRef);
            Common.out("badpwhistory", "no fault");
        } catch (ICorrespondenceAgencyExternalBasicGetCorrespondenceStatusHistoryBasicAltinnFaultFaultFaultMessage e) {
            Common.fault("badpwhistory", e, e.getFaultInfo());
        } catch (Exception e) {
            Common.error("badpwhistory", e);
        }
        Common.out("client", "done");
    }

    static ICorrespondenceAgencyExternalBasic port() {
        if (serviceFactory == null) {
            serviceFactory = new CorrespondenceAgencyExternalBasicSF(); // reads the WSDL: once
        }
        ICorrespondenceAgencyExternalBasic port = serviceFactory.getBasicHttpBindingICorrespondenceAgencyExternalBasic();
        Common.setAddress(port, url);
        return port;
    }

    static CorrespondenceStatusHistoryResult history(String password, String... references)
        throws ICorrespondenceAgencyExternalBasicGetCorrespondenceStatusHistoryBasicAltinnFaultFaultFaultMessage {
        ICorrespondenceAgencyExternalBasic port = port();
        Common.addHandler(port, new HeaderHandler(user, password));
        ArrayOfstring refs = new ArrayOfstring();
        for (String r : references) {
            refs.getString().add(r);
        }
        CorrespondenceStatusHistoryRequest req = new CorrespondenceStatusHistoryRequest();
        req.setCorrespondenceSendersReferences(
            new ObjectFactory().createCorrespondenceStatusHistoryRequestCorrespondenceSendersReferences(refs));
        return port.getCorrespondenceStatusHistoryBasic(req);
    }

    /** Adds the SystemUserName / SystemPassword SOAP headers of GetCorrespondenceStatusHistoryBasic. */
    static class HeaderHandler implements SOAPHandler<SOAPMessageContext> {
        final String user;
        final String password;

        HeaderHandler(String user, String password) {
            this.user = user;
            this.password = password;
        }

        public boolean handleMessage(SOAPMessageContext ctx) {
            if (!(Boolean) ctx.get(MessageContext.MESSAGE_OUTBOUND_PROPERTY)) {
                return true;
            }
            try {
                SOAPEnvelope env = ctx.getMessage().getSOAPPart().getEnvelope();
                SOAPHeader h = env.getHeader() != null ? env.getHeader() : env.addHeader();
                h.addHeaderElement(new QName(Common.SVC_NS, "SystemPassword")).addTextNode(password);
                h.addHeaderElement(new QName(Common.SVC_NS, "SystemUserName")).addTextNode(user);
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

        public Set<QName> getHeaders() {
            return Collections.emptySet();
        }
    }
}
