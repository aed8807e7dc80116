// Helpers shared by BasicClient and WsClient. They use only the schema types, whose generated
// classes have the same names in both wsimport outputs, so this file compiles against either.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.GregorianCalendar;
import java.util.List;
import java.util.function.Consumer;
import javax.xml.bind.JAXBElement;
import javax.xml.datatype.DatatypeFactory;
import javax.xml.datatype.XMLGregorianCalendar;
import javax.xml.ws.Binding;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.handler.Handler;

import no.altinn.schemas.services.intermediary.receipt._2009._10.ReceiptExternal;
import no.altinn.schemas.services.intermediary.receipt._2009._10.Reference;
import no.altinn.schemas.services.serviceengine.correspondence._2010._10.AttachmentsV2;
import no.altinn.schemas.services.serviceengine.correspondence._2010._10.ExternalContentV2;
import no.altinn.schemas.services.serviceengine.correspondence._2010._10.InsertCorrespondenceV2;
import no.altinn.schemas.services.serviceengine.correspondence._2014._10.StatusChangeV2;
import no.altinn.schemas.services.serviceengine.correspondence._2014._10.StatusV2;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.CorrespondenceStatusFilterV3;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.CorrespondenceStatusInformation;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.CorrespondenceStatusResultV3;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.SdpOptions;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.SdpSetting;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.SdpStatusChange;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.SdpStatusDetails;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.SdpStatusInformation;
import no.altinn.schemas.services.serviceengine.correspondence._2016._02.SdpStatusSearchOptions;
import no.altinn.schemas.services.serviceengine.subscription._2009._10.AttachmentFunctionType;
import no.altinn.services.common.fault._2009._10.AltinnFault;
import no.altinn.services.serviceengine.reporteeelementlist._2010._10.BinaryAttachmentExternalBEV2List;
import no.altinn.services.serviceengine.reporteeelementlist._2010._10.BinaryAttachmentV2;

final class Common {
    static final String SVC_NS = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10";
    static final byte[] PDF = "%PDF-1.4\n% innbyggerpost java test letter\n%%EOF\n".getBytes(StandardCharsets.US_ASCII);

    static final no.altinn.schemas.services.serviceengine.correspondence._2010._10.ObjectFactory C10 =
        new no.altinn.schemas.services.serviceengine.correspondence._2010._10.ObjectFactory();
    static final no.altinn.schemas.services.serviceengine.correspondence._2016._02.ObjectFactory C16 =
        new no.altinn.schemas.services.serviceengine.correspondence._2016._02.ObjectFactory();
    static final no.altinn.services.serviceengine.reporteeelementlist._2010._10.ObjectFactory R10 =
        new no.altinn.services.serviceengine.reporteeelementlist._2010._10.ObjectFactory();

    /**
     * Sets BinaryAttachmentV2/Data: byte[] in the Basic WSDL, a DataHandler in the WS WSDL (its
     * schema carries xmime:expectedContentTypes), so each client supplies its own.
     */
    static Consumer<BinaryAttachmentV2> attachData;

    private Common() {
    }

    static void setAddress(Object port, String url) {
        ((BindingProvider) port).getRequestContext().put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, url);
    }

    @SuppressWarnings("rawtypes")
    static void addHandler(Object port, Handler h) {
        Binding binding = ((BindingProvider) port).getBinding();
        List<Handler> chain = new ArrayList<>(binding.getHandlerChain());
        chain.add(h);
        binding.setHandlerChain(chain);
    }

    static XMLGregorianCalendar now(int plusDays) throws Exception {
        GregorianCalendar c = new GregorianCalendar();
        c.add(GregorianCalendar.DAY_OF_MONTH, plusDays);
        return DatatypeFactory.newInstance().newXMLGregorianCalendar(c);
    }

    static SdpOptions forwardOnly() {
        SdpOptions o = new SdpOptions();
        o.setBackupAltinn(C16.createSdpOptionsBackupAltinn(Boolean.TRUE));
        o.setPrimaryDocumentFileName("brev.pdf");
        o.setSdpSetting(SdpSetting.FORWARD_ONLY);
        o.setTitle(C16.createSdpOptionsTitle("Vedtak fra Java"));
        o.setNotSensitiveTitle(C16.createSdpOptionsNotSensitiveTitle("Brev fra kommunen"));
        return o;
    }

    /** A letter with one PDF-ish BinaryAttachmentV2 (and SdpOptions when given). */
    static InsertCorrespondenceV2 letter(String serviceCode, String reportee, SdpOptions sdp) throws Exception {
        BinaryAttachmentV2 a = new BinaryAttachmentV2();
        a.setFunctionType(AttachmentFunctionType.UNSPECIFIED);
        a.setFileName(R10.createBinaryAttachmentV2FileName("brev.pdf"));
        a.setName(R10.createBinaryAttachmentV2Name("Brev"));
        a.setEncrypted(Boolean.FALSE);
        attachData.accept(a);
        BinaryAttachmentExternalBEV2List list = new BinaryAttachmentExternalBEV2List();
        list.getBinaryAttachmentV2().add(a);
        AttachmentsV2 atts = new AttachmentsV2();
        atts.setBinaryAttachments(C10.createAttachmentsV2BinaryAttachments(list));

        ExternalContentV2 content = new ExternalContentV2();
        content.setLanguageCode(C10.createExternalContentV2LanguageCode("1044"));
        content.setMessageTitle(C10.createExternalContentV2MessageTitle("Vedtak om innbyggerpost (Java)"));
        content.setMessageSummary(C10.createExternalContentV2MessageSummary("Sammendrag"));
        content.setMessageBody(C10.createExternalContentV2MessageBody("<p>Brødtekst æøå</p>"));
        content.setAttachments(C10.createExternalContentV2Attachments(atts));

        InsertCorrespondenceV2 c = new InsertCorrespondenceV2();
        c.setServiceCode(C10.createInsertCorrespondenceV2ServiceCode(serviceCode));
        c.setServiceEdition(C10.createInsertCorrespondenceV2ServiceEdition("1"));
        c.setReportee(C10.createInsertCorrespondenceV2Reportee(reportee));
        c.setContent(C10.createInsertCorrespondenceV2Content(content));
        c.setVisibleDateTime(now(0));
        c.setDueDateTime(now(14));
        c.setArchiveReference(C10.createInsertCorrespondenceV2ArchiveReference("ARK-JAVA"));
        if (sdp != null) {
            c.setSdpOptions(C10.createInsertCorrespondenceV2SdpOptions(sdp));
        }
        return c;
    }

    static CorrespondenceStatusFilterV3 filter(String serviceCode, String reference) {
        CorrespondenceStatusFilterV3 f = new CorrespondenceStatusFilterV3();
        f.setServiceCode(serviceCode);
        f.setServiceEditionCode(1);
        f.setSendersReference(C16.createCorrespondenceStatusFilterV3SendersReference(reference));
        SdpStatusSearchOptions o = new SdpStatusSearchOptions();
        o.setIncludeCorrespondence(true);
        f.setSdpSearchOptions(C16.createCorrespondenceStatusFilterV3SdpSearchOptions(o));
        return f;
    }

    static boolean delivered(CorrespondenceStatusResultV3 r) {
        SdpStatusInformation si = v(r.getSdpStatusInformation());
        if (si == null || v(si.getSdpStatusDetailsList()) == null) {
            return false;
        }
        for (SdpStatusDetails d : si.getSdpStatusDetailsList().getValue().getSdpStatusDetails()) {
            if (v(d.getStatusHistory()) != null) {
                for (SdpStatusChange c : d.getStatusHistory().getValue().getSdpStatusChange()) {
                    if (c.getStatus() != null && c.getStatus().value().equals("Delivered_EndUser")) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    static void receipt(String key, ReceiptExternal r) {
        out(key + ".status", r.getReceiptStatusCode() == null ? null : r.getReceiptStatusCode().value());
        out(key + ".receiptId", r.getReceiptId());
        out(key + ".type", r.getReceiptTypeName() == null ? null : r.getReceiptTypeName().value());
        out(key + ".text", v(r.getReceiptText()));
        out(key + ".history", v(r.getReceiptHistory()));
        out(key + ".lastChanged", r.getLastChanged());
        List<String> refs = new ArrayList<>();
        if (v(r.getReferences()) != null) {
            for (Reference ref : r.getReferences().getValue().getReference()) {
                String type = ref.getReferenceTypeName() == null ? null : ref.getReferenceTypeName().value();
                refs.add(type + ":" + v(ref.getReferenceValue()));
            }
        }
        out(key + ".references", String.join(",", refs));
        List<ReceiptExternal> subs = v(r.getSubReceipts()) == null
            ? Collections.emptyList() : r.getSubReceipts().getValue().getReceiptExternal();
        out(key + ".subs", subs.size());
        for (int i = 0; i < subs.size(); i++) {
            ReceiptExternal s = subs.get(i);
            String p = key + ".sub" + i;
            out(p + ".status", s.getReceiptStatusCode() == null ? null : s.getReceiptStatusCode().value());
            out(p + ".type", s.getReceiptTypeName() == null ? null : s.getReceiptTypeName().value());
            out(p + ".receiptId", s.getReceiptId());
            out(p + ".parent", s.getParentReceiptId());
            out(p + ".text", v(s.getReceiptText()));
        }
    }

    static void v3(String key, CorrespondenceStatusResultV3 r) {
        out(key + ".serviceCode", v(r.getServiceCode()));
        out(key + ".serviceEdition", r.getServiceEditionCode());
        corrInfo(key, v(r.getCorrespondenceStatusInformation()));
        sdpInfo(key, v(r.getSdpStatusInformation()));
    }

    static void corrInfo(String key, CorrespondenceStatusInformation ci) {
        List<StatusV2> list = ci == null || v(ci.getCorrespondenceStatusDetailsList()) == null
            ? Collections.emptyList() : ci.getCorrespondenceStatusDetailsList().getValue().getStatusV2();
        out(key + ".corr", list.size());
        for (int i = 0; i < list.size(); i++) {
            StatusV2 s = list.get(i);
            out(key + ".corr" + i + ".id", s.getCorrespondenceID());
            out(key + ".corr" + i + ".sendersReference", v(s.getSendersReference()));
            out(key + ".corr" + i + ".reportee", v(s.getReportee()));
            List<String> st = new ArrayList<>();
            if (v(s.getStatusChanges()) != null) {
                for (StatusChangeV2 c : s.getStatusChanges().getValue().getStatusChangeV2()) {
                    st.add(c.getStatusType() == null ? "null" : c.getStatusType().value());
                }
            }
            out(key + ".corr" + i + ".statuses", String.join(",", st));
        }
    }

    static void sdpInfo(String key, SdpStatusInformation si) {
        List<SdpStatusDetails> list = si == null || v(si.getSdpStatusDetailsList()) == null
            ? Collections.emptyList() : si.getSdpStatusDetailsList().getValue().getSdpStatusDetails();
        out(key + ".sdp", list.size());
        for (int i = 0; i < list.size(); i++) {
            SdpStatusDetails d = list.get(i);
            out(key + ".sdp" + i + ".reference", v(d.getReference()));
            out(key + ".sdp" + i + ".reportee", v(d.getReportee()));
            out(key + ".sdp" + i + ".correspondenceId", v(d.getCorrespondenceId()));
            out(key + ".sdp" + i + ".sdpId", d.getSdpId());
            List<String> st = new ArrayList<>();
            if (v(d.getStatusHistory()) != null) {
                for (SdpStatusChange c : d.getStatusHistory().getValue().getSdpStatusChange()) {
                    st.add(c.getStatus() == null ? "null" : c.getStatus().value());
                }
            }
            out(key + ".sdp" + i + ".statuses", String.join(",", st));
        }
    }

    /** A typed fault of the generated code: its class and the AltinnFault fault info. */
    static void fault(String key, Exception e, AltinnFault f) {
        out(key + ".fault", e.getClass().getSimpleName());
        out(key + ".message", e.getMessage());
        if (f == null) {
            out(key + ".faultInfo", "null");
            return;
        }
        out(key + ".errorId", f.getErrorID());
        out(key + ".altinnErrorMessage", v(f.getAltinnErrorMessage()));
        out(key + ".errorGuid", v(f.getErrorGuid()));
    }

    static <T> T v(JAXBElement<T> e) {
        return e == null || e.isNil() ? null : e.getValue();
    }

    static void error(String key, Throwable e) {
        out(key + ".error", e.getClass().getName() + ": " + e.getMessage());
    }

    static void out(String key, Object value) {
        String s = String.valueOf(value).replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n");
        System.out.println(key + "=" + s);
        System.out.flush();
    }
}
