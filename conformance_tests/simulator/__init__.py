"""Reference simulators: tiny, readable systems that pass the kit's profiles, for integrators to copy."""
