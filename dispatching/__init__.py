"""Outbound delivery: what the register sends, as adapters around core's use cases.

- dispatching proper: the changes of applications, to the counters' systems whose subscriptions ask
  for them, by SOAP push (:mod:`.push`, zeep, the receiver WSDL we publish) or signed and encrypted
  mail (:mod:`.mailer`); :mod:`.receiver` is the reference receiving system (the demo's, the
  tests');
- renewal notices to applicants: email, SMS, letters (:mod:`.notices`, :mod:`.sms`);
- :mod:`.worker` runs them all (``sne-hub serve``, or ``sne-hub dispatch run`` alone); :mod:`.cli`
  is the operators' commands.

Every decision (who receives what, retries, when a notice counts as sent) is core's: this package
moves bytes and reports what happened. It imports core and certificates only (docs/DISPATCHING.md).
"""
