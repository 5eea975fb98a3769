"""The SNE interface file on the wire: safe parsing, our XSDs, the codec, and the processing of a
file into the register's use cases.

Both channels (SOAP and signed mail) hand the bytes of a file to :mod:`core.wire.processing` and
get the bytes of the answer back, so a file gets the same result whichever way it came.
"""
