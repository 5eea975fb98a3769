<?php
// PHP's SoapClient on GestionPartageeEVTImplService: its functions, and one operation called by its action.
$options = json_decode($argv[1], true);
$context = stream_context_create(['ssl' => ['cafile' => $options['ca'], 'verify_peer' => true,
                                            'verify_peer_name' => true, 'local_cert' => $options['pem']]]);
$client = new SoapClient($options['wsdl'], ['soap_version' => SOAP_1_2, 'local_cert' => $options['pem'],
                                            'stream_context' => $context, 'cache_wsdl' => WSDL_CACHE_NONE,
                                            'trace' => true, 'exceptions' => true]);
$answer = $client->{$options['operation']}(['nomFichier' => 'TEV.xml',
    'fichierXml' => base64_decode($options['file']), 'nomCertificat' => 'KIT.pem']);
echo json_encode(['functions' => $client->__getFunctions(), 'requestHeaders' => $client->__getLastRequestHeaders(),
                  'fichierXmlRetour' => base64_encode($answer->fichierXmlRetour->_)]), "\n";
