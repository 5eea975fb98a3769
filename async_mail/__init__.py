"""The asynchronous channel: interface files exchanged as signed (and encrypted) S/MIME mails.

An adapter only: it checks every signature before reading a file, then hands each file to the same
core use cases as the SOAP channel, and answers with a signed mail.
"""
