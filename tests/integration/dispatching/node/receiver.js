// A counter's system written in JavaScript: node-soap's server implementing recevoirDispatch from the
// hub's receiver WSDL, over plain http. node-soap has no MTOM: the counter subscribes with inline
// base64. `node receiver.js <settings.json> <port>`; the settings file is read at every request:
// wsdl, journal, refuse, fault, as for the PHP receiver (../php/receiver.php says what they mean).
const fs = require('fs');
const http = require('http');
const soap = require('soap');

const NS = 'http://ws.metier.nuu.application.i2/';
const [settingsPath, port] = process.argv.slice(2);
const read = () => JSON.parse(fs.readFileSync(settingsPath, 'utf8'));
const escape = (text) => String(text).replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]);

function soapFault({ code, reessayer, message }) {
  // node-soap writes every element of a SOAP 1.2 fault in the envelope's namespace, the detail's
  // included: the detail, in the WSDL's namespace with unqualified children, goes as raw XML ($xml).
  const detail = reessayer === null ? undefined : {
    $xml: `<tns:recevoirDispatchException xmlns:tns="${NS}"><reessayer>${reessayer}</reessayer>`
      + `<code>TEST</code><message>${escape(message)}</message></tns:recevoirDispatchException>`,
  };
  return { Fault: { Code: { Value: `soap:${code}` }, Reason: { Text: message }, Detail: detail, statusCode: 500 } };
}

function recevoirDispatch(parameters) {
  const settings = read();
  if (settings.fault) throw soapFault(settings.fault);
  const received = {
    idLivraison: parameters.idLivraison, guichet: parameters.guichet, abonnement: Number(parameters.abonnement),
    derniereSequence: Number(parameters.derniereSequence),
    dispatch: [].concat(parameters.dispatch || []).map((item) => ({
      sequence: Number(item.sequence), typeChangement: item.typeChangement, numUnique: item.numUnique,
      version: Number(item.version), dateChangement: item.dateChangement, guichetOrigine: item.guichetOrigine,
      nomFichier: item.nomFichier ?? null,
      // node-soap leaves base64Binary as text: decoded here, base64-encoded again for JSON
      fichierDis: item.fichierDis === undefined ? null
        : Buffer.from(item.fichierDis.$value ?? item.fichierDis, 'base64').toString('base64'),
    })),
  };
  const journal = fs.existsSync(settings.journal) ? JSON.parse(fs.readFileSync(settings.journal, 'utf8')) : [];
  journal.push(received);
  fs.writeFileSync(settings.journal, JSON.stringify(journal, null, 2));
  const refus = received.dispatch.filter((item) => item.numUnique in settings.refuse).map((item) => {
    const [code, message] = settings.refuse[item.numUnique];
    return { sequence: item.sequence, code, message };
  });
  return { idLivraison: parameters.idLivraison, refus };
}

const server = http.createServer((request, response) => { response.statusCode = 404; response.end(); });
soap.listen(server, {
  path: '/services/ReceptionDispatchImplService/',
  services: { ReceptionDispatchImplService: { ReceptionDispatchImplPort: { recevoirDispatch } } },
  xml: fs.readFileSync(read().wsdl, 'utf8'),
  forceSoap12Headers: true, // else it answers SOAP 1.2 in SOAP 1.1: unreadable, the hub would retry for ever
});
server.listen(Number(port), '127.0.0.1');
