// A Node integrator's client, with no work-around: node-soap (the npm `soap` package) built from
// Altinn's published WSDL, unchanged but for the address. Driven by tests/e2e/test_node_client.py:
//   node client.js basic|ws WSDL_PATH ENDPOINT_URL REFERENCE REPORTEE
// Prints one JSON object per call on its own line: {"call": ..., "ok": true, "result": ...} or
// {"call": ..., "ok": false, "fault": "<faultstring / Reason text>"}.
'use strict';
const soap = require('soap');

const [variant, wsdl, url, reference, reportee] = process.argv.slice(2);
const DEMO = { user: '10001', password: 'demo-password', code: 'DEMO', service: '4503' };
const PDF = Buffer.from('%PDF-1.4\n% innbyggerpost node-soap letter\n').toString('base64');

function letter(sdpOptions) {
  const now = new Date();
  return {
    ServiceCode: DEMO.service, ServiceEdition: '1', Reportee: reportee,
    Content: {
      LanguageCode: '1044', MessageTitle: 'Vedtak fra Node', MessageSummary: 'Sammendrag',
      MessageBody: '<p>Brødtekst</p>',
      Attachments: { BinaryAttachments: { BinaryAttachmentV2: [{
        FunctionType: 'Unspecified', FileName: 'vedtak.pdf', Name: 'Vedtak', Encrypted: false, Data: PDF,
      }] } },
    },
    VisibleDateTime: now.toISOString(),
    DueDateTime: new Date(now.getTime() + 14 * 864e5).toISOString(),
    ArchiveReference: 'ARK-NODE',
    ReplyOptions: { ReplyOption: [{ URL: { LinkText: 'Svar', LinkURL: 'https://etat.example/svar' } }] },
    Notifications: { Notification: [{
      FromAddress: 'post@etat.example', ShipmentDateTime: now.toISOString(), LanguageCode: '1044',
      NotificationType: 'VarselDPVUtenRevarsel',
      TextTokens: { TextToken: [{ TokenNum: 0, TokenValue: 'Vedtak' }] },
      ReceiverEndPoints: { ReceiverEndPoint: [{ TransportType: 'Email' }] },
    }] },
    SdpOptions: sdpOptions,
  };
}

const SDP = {
  BackupAltinn: false, PrimaryDocumentFileName: 'vedtak.pdf',
  SdpNotifications: {
    EmailNotification: { NotificationText: 'Du har fått et vedtak', Repetitions: { DaysDelayed: [7] } },
    SmsNotification: { NotificationText: 'Du har fått et vedtak', Repetitions: { DaysDelayed: [7] } },
  },
  SdpSetting: 'ForwardOnly',
};
// The same, with one element misspelt: must be refused, naming it.
const MISSPELT = { BackupAltinn: false, PrimaryDocumentFileName: 'vedtak.pdf', SdpSettin: 'ForwardOnly' };

function faultText(e) {
  const fault = e && e.root && e.root.Envelope && e.root.Envelope.Body && e.root.Envelope.Body.Fault;
  if (!fault) return `no SOAP fault: ${e && e.message}`;
  const fs = fault.faultstring || (fault.Reason && fault.Reason.Text);
  return fs === undefined ? JSON.stringify(fault) : (fs.$value !== undefined ? fs.$value : String(fs));
}

async function call(client, method, args, label) {
  try {
    const [result] = await client[`${method}Async`](args);
    console.log(JSON.stringify({ call: label || method, ok: true, result }));
  } catch (e) {
    console.log(JSON.stringify({ call: label || method, ok: false, fault: faultText(e) }));
  }
}

async function main() {
  const filter = {
    SdpSearchOptions: { IncludeCorrespondence: true }, SendersReference: reference,
    ServiceCode: DEMO.service, ServiceEditionCode: 1,
  };
  if (variant === 'basic') {
    const c = await soap.createClientAsync(wsdl);
    c.setEndpoint(url);
    const auth = { systemUserName: DEMO.user, systemPassword: DEMO.password };
    await call(c, 'Test', {});
    await call(c, 'InsertCorrespondenceBasicV2', {
      ...auth, SystemUserCode: DEMO.code, ExternalShipmentReference: reference, Correspondence: letter(SDP),
    });
    await call(c, 'InsertCorrespondenceBasicV2', {
      ...auth, SystemUserCode: DEMO.code, ExternalShipmentReference: `${reference}-misspelt`,
      Correspondence: letter(MISSPELT),
    }, 'Misspelt');
    await call(c, 'GetCorrespondenceStatusDetailsBasicV3', { ...auth, filterCriteria: filter });
    c.addSoapHeader({ SystemUserName: DEMO.user, SystemPassword: DEMO.password });
    await call(c, 'GetCorrespondenceStatusHistoryBasic', {
      CorrespondenceSendersReferences: { string: [reference] },
    });
  } else {
    const c = await soap.createClientAsync(wsdl, { forceSoap12Headers: true });
    c.setEndpoint(url);
    c.setSecurity(new soap.WSSecurity(DEMO.user, DEMO.password,
      { passwordType: 'PasswordText', hasNonce: true, hasTimeStamp: false }));
    await call(c, 'Test', {});
    await call(c, 'InsertCorrespondenceV2', {
      SystemUserCode: DEMO.code, ExternalShipmentReference: reference, Correspondence: letter(SDP),
    });
    await call(c, 'GetCorrespondenceStatusDetailsV3', { filterCriteria: filter });
    await call(c, 'GetCorrespondenceStatusHistory', { CorrespondenceSendersReferences: { string: [reference] } });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
