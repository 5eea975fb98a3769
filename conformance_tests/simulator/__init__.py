"""Reference systems that pass the kit's profiles: the examples integrators copy."""
