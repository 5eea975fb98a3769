<?php
// A counter's system written in PHP: ext/soap's SoapServer implementing recevoirDispatch from the
// hub's receiver WSDL (receiver.php), served by `php -S 127.0.0.1:<port> router.php` over plain http.
// ext/soap has no MTOM: the counter subscribes with inline base64. RECEIVER_SETTINGS names a JSON
// file, read at every request: wsdl, journal, refuse, fault (receiver.php says what they mean).
require __DIR__ . '/receiver.php';

$path = rtrim(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH), '/');
if ($path !== '/services/ReceptionDispatchImplService' || $_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code($path === '/services/ReceptionDispatchImplService' ? 405 : 404);
    exit;
}
$settings = json_decode(file_get_contents(getenv('RECEIVER_SETTINGS')), true, 16, JSON_THROW_ON_ERROR);
$server = new SoapServer($settings['wsdl'], ['soap_version' => SOAP_1_2, 'cache_wsdl' => WSDL_CACHE_NONE,
                                             'features' => SOAP_SINGLE_ELEMENT_ARRAYS]);
$server->setObject(new Receiver($settings));
$server->handle();
