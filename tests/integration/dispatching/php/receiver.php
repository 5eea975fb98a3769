<?php
// recevoirDispatch, as a counter's PHP system implements it. Settings:
//   journal  the JSON file where it appends each delivery it receives (its files decoded by ext/soap,
//            base64-encoded again for JSON);
//   refuse   {numUnique: [code, message]}: the changes of these applications are refused for good,
//            in the acknowledgement (refus), the others are taken;
//   fault    null, or {code: "Sender"|"Receiver", reessayer: true|false|null, message}: every delivery
//            is answered with this SOAP 1.2 fault (reessayer null: a fault without detail).

class Receiver
{
    public function __construct(private array $settings)
    {
    }

    public function recevoirDispatch($parameters)
    {
        $fault = $this->settings['fault'];
        if ($fault !== null) {
            // ext/soap writes "Client" and "Server" as SOAP 1.2's env:Sender and env:Receiver; given
            // "Sender" itself, it would write it in the service's namespace (ns1:Sender).
            $code = ['Sender' => 'Client', 'Receiver' => 'Server'][$fault['code']];
            if ($fault['reessayer'] === null) {
                throw new SoapFault($code, $fault['message']);
            }
            $detail = ['reessayer' => $fault['reessayer'], 'code' => 'TEST', 'message' => $fault['message']];
            throw new SoapFault($code, $fault['message'], null, $detail, 'recevoirDispatchException');
        }
        $received = ['idLivraison' => $parameters->idLivraison, 'guichet' => $parameters->guichet,
                     'abonnement' => $parameters->abonnement, 'derniereSequence' => $parameters->derniereSequence,
                     'dispatch' => []];
        $refus = [];
        foreach ($parameters->dispatch ?? [] as $item) {
            $received['dispatch'][] = [
                'sequence' => $item->sequence, 'typeChangement' => $item->typeChangement,
                'numUnique' => $item->numUnique, 'version' => $item->version,
                'dateChangement' => $item->dateChangement, 'guichetOrigine' => $item->guichetOrigine,
                'nomFichier' => $item->nomFichier ?? null,
                'fichierDis' => isset($item->fichierDis) ? base64_encode($item->fichierDis->_) : null,
            ];
            if (isset($this->settings['refuse'][$item->numUnique])) {
                [$code, $message] = $this->settings['refuse'][$item->numUnique];
                $refus[] = ['sequence' => $item->sequence, 'code' => $code, 'message' => $message];
            }
        }
        $this->record($received);
        return ['idLivraison' => $parameters->idLivraison, 'refus' => $refus];
    }

    private function record(array $received): void
    {
        $journal = fopen($this->settings['journal'], 'c+');
        flock($journal, LOCK_EX);
        $deliveries = json_decode(stream_get_contents($journal) ?: '[]', true);
        $deliveries[] = $received;
        ftruncate($journal, 0);
        rewind($journal);
        fwrite($journal, json_encode($deliveries, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR));
        fclose($journal);
    }
}
