"""Certificates: the deployment's authority, counter certificates, revocation.

The same registry authenticates SOAP clients (TLS) and mail senders (S/MIME).
"""
