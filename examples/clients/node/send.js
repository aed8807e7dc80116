// Sends one letter through each variant with the npm `soap` package, then reads its status.
// npm install && node send.js [BASE_URL]   (default http://127.0.0.1:8080)
'use strict';
const soap = require('soap');
const crypto = require('crypto');

const base = process.argv[2] || 'http://127.0.0.1:8080';
const basicUrl = `${base}/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc`;
const wsUrl = `${base}/ServiceEngineExternal/CorrespondenceAgencyExternal.svc`;
// Plain objects, no namespace work-around: node-soap writes the children of SdpOptions and
// BinaryAttachmentV2 in their parent's namespace, and the service takes them for what they mean.

function letter(reportee, title) {
  const now = new Date();
  const attachment = {
    FunctionType: 'Unspecified', FileName: 'brev.pdf', Name: 'Brev', Encrypted: false,
    Data: Buffer.from('%PDF-1.4\n% node\n').toString('base64'),
  };
  return {
    ServiceCode: '4503', ServiceEdition: '1', Reportee: reportee,
    Content: {
      LanguageCode: '1044', MessageTitle: title, MessageSummary: 'Sammendrag', MessageBody: '<p>Brødtekst</p>',
      Attachments: { BinaryAttachments: { BinaryAttachmentV2: [attachment] } },
    },
    VisibleDateTime: now.toISOString(), DueDateTime: new Date(now.getTime() + 14 * 864e5).toISOString(),
    ArchiveReference: 'ARK-1',
    SdpOptions: { BackupAltinn: false, PrimaryDocumentFileName: 'brev.pdf', SdpSetting: 'ForwardOnly' },
  };
}

async function main() {
  const basic = await soap.createClientAsync(`${basicUrl}?wsdl`);
  basic.setEndpoint(basicUrl);
  const ref = `node-${crypto.randomBytes(6).toString('hex')}`;
  const [res] = await basic.InsertCorrespondenceBasicV2Async({
    systemUserName: '10001', systemPassword: 'demo-password', SystemUserCode: 'DEMO',
    ExternalShipmentReference: ref, Correspondence: letter('01018010018', 'Brev fra Node'),
  });
  const receipt = res.InsertCorrespondenceBasicV2Result;
  console.log(`basic ${ref}: ${receipt.ReceiptStatusCode} ${receipt.ReceiptText}`);

  const ws = await soap.createClientAsync(`${wsUrl}?wsdl`, { forceSoap12Headers: true });
  ws.setEndpoint(wsUrl);
  ws.setSecurity(new soap.WSSecurity('10001', 'demo-password', { passwordType: 'PasswordText', hasNonce: true, hasTimeStamp: false }));
  const wsRef = `node-ws-${crypto.randomBytes(6).toString('hex')}`;
  const [wres] = await ws.InsertCorrespondenceV2Async({
    SystemUserCode: 'DEMO', ExternalShipmentReference: wsRef, Correspondence: letter('02028110068', 'Brev fra Node (WS)'),
  });
  const wr = wres.InsertCorrespondenceV2Result;
  console.log(`ws ${wsRef}: ${wr.ReceiptStatusCode} ${wr.ReceiptText}`);

  const [st] = await ws.GetCorrespondenceStatusDetailsV3Async({ filterCriteria: {
    SdpSearchOptions: { IncludeCorrespondence: true }, SendersReference: wsRef, ServiceCode: '4503', ServiceEditionCode: 1,
  } });
  const details = st.GetCorrespondenceStatusDetailsV3Result.SdpStatusInformation.SdpStatusDetailsList.SdpStatusDetails;
  console.log(`ws status: SdpId ${[].concat(details)[0].SdpId}`);

  try {
    await basic.InsertCorrespondenceBasicV2Async({
      systemUserName: '10001', systemPassword: 'wrong', SystemUserCode: 'DEMO',
      ExternalShipmentReference: `${ref}-x`, Correspondence: letter('01018010018', 'x'),
    });
    throw new Error('no fault?');
  } catch (e) {
    if (!e.root) throw e;
    const fs = e.root.Envelope.Body.Fault.faultstring;
    console.log(`fault as expected: ${fs.$value || fs}`);
  }
  if (receipt.ReceiptStatusCode !== 'OK' || wr.ReceiptStatusCode !== 'OK') process.exit(1);
}

main().catch((e) => { console.error(e.root ? JSON.stringify(e.root.Envelope.Body.Fault) : e); process.exit(1); });
