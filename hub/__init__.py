"""The synchronous SOAP channel: the SNE's web services (DemandeLogementImplService,
RechercheDemandeImplService, GestionPartageeEVTImplService) served over HTTPS with client
certificates, and sne-hub's own DispatchDemandeImplService, where counters' systems catch up with
dispatching.

An adapter only: it validates each file against the schemas in xsd/, translates it to calls of
``core.service_layer.services`` and translates the results back. Business rules live in core/.
"""
