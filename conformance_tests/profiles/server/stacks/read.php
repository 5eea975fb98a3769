<?php
// PHP's SoapClient reads the WSDL from the hub itself, over HTTPS with the counter's certificate (local_cert:
// certificate and key in one PEM file), and calls the address the hub wrote into it: getDemandeLogement.
$options = json_decode($argv[1], true);
$context = stream_context_create(['ssl' => ['cafile' => $options['ca'], 'verify_peer' => true,
                                            'verify_peer_name' => true, 'local_cert' => $options['pem']]]);
$client = new SoapClient($options['wsdl'], ['soap_version' => SOAP_1_2, 'local_cert' => $options['pem'],
                                            'stream_context' => $context, 'cache_wsdl' => WSDL_CACHE_NONE,
                                            'trace' => true, 'exceptions' => true]);
$output = ['functions' => $client->__getFunctions()];
try {
    // certificat with the contentType the WSDL declares on binary elements: SoapClient writes it unqualified
    $answer = $client->getDemandeLogement(['numUnique' => $options['number'], 'nomCertificat' => 'KIT.pem',
                                           'certificat' => ['_' => '', 'contentType' => 'application/x-x509-ca-cert']]);
    $output['answer'] = ['nomFichierDemande' => $answer->nomFichierDemande,
                         'fichierDemande' => base64_encode($answer->fichierDemande->_)];
} catch (SoapFault $fault) {
    $output['fault'] = ['faultcode' => $fault->faultcode, 'faultstring' => $fault->faultstring,
                        'detail' => $fault->detail ?? null];
}
$output['requestHeaders'] = $client->__getLastRequestHeaders();
$output['request'] = $client->__getLastRequest();
echo json_encode($output), "\n";
