"""The conformance kit: black-box checks integrators run against their own systems and the hub.

It imports nothing from this project: it speaks only the SNE's published wire format.
"""
