// node-soap on GestionPartageeEVTImplService: its operations, and one of them called by its action.
const soap = require('soap');

async function main() {
  const options = JSON.parse(process.argv[2]);
  const client = await soap.createClientAsync(options.wsdl, { forceSoap12Headers: true });
  client.setSecurity(new soap.ClientSSLSecurity(options.key, options.cert, options.ca));
  const operations = Object.keys(client.describe().GestionPartageeEVTImplService.GestionPartageeEVTImplPort);
  const [result] = await client.listerTypesEvenementsNationauxAsync({ nomFichier: 'TEV.xml', fichierXml: options.file,
    nomCertificat: 'KIT.pem' });
  console.log(JSON.stringify({ operations, contentType: client.lastRequestHeaders['Content-Type'],
                               fichierXmlRetour: result.fichierXmlRetour }));
}

main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
