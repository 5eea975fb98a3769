// What node-soap makes of a WSDL: `node describe.js <wsdl file>` prints client.describe(), the
// operations of each service and port with their input and output parameters.
const soap = require('soap');

soap.createClientAsync(process.argv[2], { forceSoap12Headers: true })
  .then((client) => console.log(JSON.stringify(client.describe())))
  .catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
