<<<<<<< HEAD
"""Reference simulators: tiny, readable systems that pass the kit's profiles, for integrators to copy."""
=======
"""Reference systems that pass the kit's profiles: the examples integrators copy."""
>>>>>>> kit-client
