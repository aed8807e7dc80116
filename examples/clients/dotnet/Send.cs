// A service owner's .NET (Mono ASMX proxy) client: one letter through each variant, status, history.
using System;
using System.Web.Services.Protocols;
using System.Xml.Serialization;

[XmlRoot("Security", Namespace = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd")]
public class WsseSecurity : SoapHeader {
    public UsernameTokenElement UsernameToken;
}

public class UsernameTokenElement {
    public string Username;
    public PasswordElement Password;
}

public class PasswordElement {
    [XmlAttribute] public string Type = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
    [XmlText] public string Value;
}

public static class Send {
    static Basic.InsertCorrespondenceV2 BasicLetter(string reportee, string title) {
        var att = new Basic.BinaryAttachmentV2 { FunctionType = Basic.AttachmentFunctionType.Unspecified, FunctionTypeSpecified = true,
            FileName = "brev.pdf", Name = "Brev", Encrypted = false, EncryptedSpecified = true,
            Data = System.Text.Encoding.ASCII.GetBytes("%PDF-1.4\n% mono\n") };
        return new Basic.InsertCorrespondenceV2 {
            ServiceCode = "4503", ServiceEdition = "1", Reportee = reportee,
            Content = new Basic.ExternalContentV2 { LanguageCode = "1044", MessageTitle = title, MessageSummary = "Sammendrag",
                MessageBody = "<p>Brødtekst</p>", Attachments = new Basic.AttachmentsV2 { BinaryAttachments = new[] { att } } },
            VisibleDateTime = DateTime.UtcNow, VisibleDateTimeSpecified = true,
            DueDateTime = DateTime.UtcNow.AddDays(14), DueDateTimeSpecified = true, ArchiveReference = "ARK-1",
            SdpOptions = new Basic.SdpOptions { BackupAltinn = false, BackupAltinnSpecified = true,
                PrimaryDocumentFileName = "brev.pdf", SdpSetting = Basic.SdpSetting.ForwardOnly },
        };
    }

    public static int Main(string[] args) {
        string baseUrl = args.Length > 0 ? args[0] : "http://127.0.0.1:8080";
        var basic = new Basic.CorrespondenceAgencyExternalBasicSF { Url = baseUrl + "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc" };
        string reference = "mono-" + Guid.NewGuid().ToString("N").Substring(0, 12);
        var receipt = basic.InsertCorrespondenceBasicV2("10001", "demo-password", "DEMO", reference, BasicLetter("01018010018", "Brev fra Mono"));
        Console.WriteLine("basic {0}: {1} {2}", reference, receipt.ReceiptStatusCode, receipt.ReceiptText);

        basic.SystemUserName = new Basic.string1 { Text = new[] { "10001" } };
        basic.SystemPassword = new Basic.@string { Text = new[] { "demo-password" } };
        Basic.SdpStatusInformation sdp;
        basic.GetCorrespondenceStatusHistoryBasic(new[] { reference }, out sdp);
        Console.WriteLine("basic history: {0} SDP shipment(s)", sdp.SdpStatusDetailsList.Length);

        var ws = new Ws.CorrespondenceAgencyExternalSF { Url = baseUrl + "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc" };
        ws.Security = new WsseSecurity { MustUnderstand = true, UsernameToken = new UsernameTokenElement {
            Username = "10001", Password = new PasswordElement { Value = "demo-password" } } };
        var letter = new Ws.InsertCorrespondenceV2 { ServiceCode = "4503", ServiceEdition = "1", Reportee = "02028110068",
            Content = new Ws.ExternalContentV2 { LanguageCode = "1044", MessageTitle = "Brev fra Mono (WS)",
                Attachments = new Ws.AttachmentsV2 { BinaryAttachments = new[] { new Ws.BinaryAttachmentV2 {
                    FileName = "brev.pdf", Name = "Brev", Data = System.Text.Encoding.ASCII.GetBytes("%PDF-1.4\n") } } } },
            SdpOptions = new Ws.SdpOptions { PrimaryDocumentFileName = "brev.pdf", SdpSetting = Ws.SdpSetting.CopyAltinn } };
        string wsRef = "mono-ws-" + Guid.NewGuid().ToString("N").Substring(0, 12);
        var wsReceipt = ws.InsertCorrespondenceV2("DEMO", wsRef, letter);
        Console.WriteLine("ws {0}: {1} {2}", wsRef, wsReceipt.ReceiptStatusCode, wsReceipt.ReceiptText);

        try {
            basic.InsertCorrespondenceBasicV2("10001", "wrong", "DEMO", reference + "-x", BasicLetter("01018010018", "x"));
            Console.WriteLine("no fault?");
            return 1;
        } catch (SoapException e) {
            Console.WriteLine("fault as expected: {0}", e.Message);
        }
        return receipt.ReceiptStatusCode == Basic.ReceiptStatusEnum.OK && wsReceipt.ReceiptStatusCode == Ws.ReceiptStatusEnum.OK ? 0 : 1;
    }
}
