"""Support code the tests and the benchmarks share: playing the hub's partners (counters' systems).

Never imported by the product (an import-linter contract says so); bench/ imports it, never tests/.
"""
