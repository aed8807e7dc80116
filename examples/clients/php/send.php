<?php
// Sends one letter through each variant with PHP's ext/soap, then reads its status.
// php send.php [BASE_URL]   (default http://127.0.0.1:8080; needs php-cli and php-soap)
$base = $argv[1] ?? 'http://127.0.0.1:8080';
$basicUrl = "$base/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc";
$wsUrl = "$base/ServiceEngineExternal/CorrespondenceAgencyExternal.svc";
$opts = ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE];

function letter(string $reportee, string $title): array {
    return [
        'ServiceCode' => '4503', 'ServiceEdition' => '1', 'Reportee' => $reportee,
        'Content' => [
            'LanguageCode' => '1044', 'MessageTitle' => $title, 'MessageSummary' => 'Sammendrag',
            'MessageBody' => '<p>Brødtekst</p>',
            'Attachments' => ['BinaryAttachments' => ['BinaryAttachmentV2' => [[
                'FunctionType' => 'Unspecified', 'FileName' => 'brev.pdf', 'Name' => 'Brev',
                'Encrypted' => false, 'Data' => "%PDF-1.4\n% php\n",  // ext/soap base64-encodes
            ]]]],
        ],
        'VisibleDateTime' => gmdate('Y-m-d\TH:i:s\Z'), 'DueDateTime' => gmdate('Y-m-d\TH:i:s\Z', time() + 14 * 86400),
        'ArchiveReference' => 'ARK-1',
        'SdpOptions' => ['BackupAltinn' => false, 'PrimaryDocumentFileName' => 'brev.pdf', 'SdpSetting' => 'ForwardOnly'],
    ];
}

// Basic (SOAP 1.1): the WSDL's address is Altinn's or ours; 'location' sets where calls go.
$basic = new SoapClient("$basicUrl?wsdl", $opts + ['location' => $basicUrl, 'soap_version' => SOAP_1_1]);
$ref = 'php-' . bin2hex(random_bytes(6));
$receipt = $basic->InsertCorrespondenceBasicV2([
    'systemUserName' => '10001', 'systemPassword' => 'demo-password', 'SystemUserCode' => 'DEMO',
    'ExternalShipmentReference' => $ref, 'Correspondence' => letter('01018010018', 'Brev fra PHP'),
])->InsertCorrespondenceBasicV2Result;
echo "basic $ref: {$receipt->ReceiptStatusCode} {$receipt->ReceiptText}\n";

// WS (SOAP 1.2): ext/soap has no WS-Security; add the UsernameToken header yourself.
$wsse = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
$token = '<wsse:Security xmlns:wsse="' . $wsse . '"><wsse:UsernameToken>'
    . '<wsse:Username>10001</wsse:Username>'
    . '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">'
    . 'demo-password</wsse:Password></wsse:UsernameToken></wsse:Security>';
$ws = new SoapClient("$wsUrl?wsdl", $opts + ['location' => $wsUrl, 'soap_version' => SOAP_1_2]);
$ws->__setSoapHeaders([new SoapHeader($wsse, 'Security', new SoapVar($token, XSD_ANYXML))]);
$wsRef = 'php-ws-' . bin2hex(random_bytes(6));
$r = $ws->InsertCorrespondenceV2([
    'SystemUserCode' => 'DEMO', 'ExternalShipmentReference' => $wsRef,
    'Correspondence' => letter('02028110068', 'Brev fra PHP (WS)'),
])->InsertCorrespondenceV2Result;
echo "ws $wsRef: {$r->ReceiptStatusCode} {$r->ReceiptText}\n";

$status = $ws->GetCorrespondenceStatusDetailsV3(['filterCriteria' => [
    'SdpSearchOptions' => ['IncludeCorrespondence' => true], 'SendersReference' => $wsRef,
    'ServiceCode' => '4503', 'ServiceEditionCode' => 1,
]])->GetCorrespondenceStatusDetailsV3Result;
$details = $status->SdpStatusInformation->SdpStatusDetailsList->SdpStatusDetails ?? null;
echo "ws status: SdpId " . ($details->SdpId ?? '?') . "\n";

try {
    $basic->InsertCorrespondenceBasicV2([
        'systemUserName' => '10001', 'systemPassword' => 'wrong', 'SystemUserCode' => 'DEMO',
        'ExternalShipmentReference' => $ref . '-x', 'Correspondence' => letter('01018010018', 'x'),
    ]);
    echo "no fault?\n"; exit(1);
} catch (SoapFault $f) {
    echo "fault as expected: {$f->faultstring} (ErrorID {$f->detail->AltinnFault->ErrorID})\n";
}
if ($receipt->ReceiptStatusCode !== 'OK' || $r->ReceiptStatusCode !== 'OK') { exit(1); }
