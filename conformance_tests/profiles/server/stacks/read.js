// node-soap against the hub: the WSDL it served (a local copy: its address is the hub's), its operations,
// getDemandeLogement of a registered number, then of a number never issued (a fault).
// node-soap needs forceSoap12Headers for SOAP 1.2: it does not read the binding's soap12 namespace.
const soap = require('soap');

async function main() {
  const options = JSON.parse(process.argv[2]);
  const client = await soap.createClientAsync(options.wsdl, { forceSoap12Headers: true });
  client.setSecurity(new soap.ClientSSLSecurity(options.key, options.cert, options.ca));
  const operations = {};
  for (const [service, ports] of Object.entries(client.describe())) {
    for (const [port, methods] of Object.entries(ports)) operations[`${service}/${port}`] = Object.keys(methods);
  }
  // certificat with the contentType the WSDL declares on binary elements: node-soap writes it unqualified
  const [result] = await client.getDemandeLogementAsync({ numUnique: options.number, nomCertificat: 'KIT.pem',
    certificat: { attributes: { contentType: 'application/x-x509-ca-cert' }, $value: '' } });
  const read = { endpoint: client.lastEndpoint, contentType: client.lastRequestHeaders['Content-Type'],
                 sent: client.lastRequest, nomFichierDemande: result.nomFichierDemande,
                 fichierDemande: result.fichierDemande };
  let refused = null;
  try {
    await client.getDemandeLogementAsync({ numUnique: options.unknown, nomCertificat: 'KIT.pem', certificat: '' });
  } catch (error) {
    refused = { message: error.message, fault: error.root && error.root.Envelope.Body.Fault };
  }
  console.log(JSON.stringify({ operations, read, refused }));
}

main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
