"""Dispatching: pushes new and changed applications to the counters whose filters ask for them.

It consumes the outbox that core/ fills in the same transaction as each change, so nothing committed
is ever missed and nothing rolled back is ever sent.
"""
