<?php
// What SoapClient makes of a WSDL: `php describe.php <settings as JSON>`, settings: wsdl (a file or an
// https URL), and for https a client certificate and key in one PEM (pem) and the authority (ca).
// Prints {"functions": __getFunctions(), "types": __getTypes()}.
$settings = json_decode($argv[1], true, 16, JSON_THROW_ON_ERROR);
$options = ['soap_version' => SOAP_1_2, 'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true];
if (isset($settings['pem'])) {
    $options['local_cert'] = $settings['pem'];
    $options['stream_context'] = stream_context_create(['ssl' => [
        'cafile' => $settings['ca'], 'verify_peer' => true, 'verify_peer_name' => true, 'local_cert' => $settings['pem']]]);
}
$client = new SoapClient($settings['wsdl'], $options);
echo json_encode(['functions' => $client->__getFunctions(), 'types' => $client->__getTypes()]), "\n";
