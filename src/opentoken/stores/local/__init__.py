"""Counters and the key-change bus shared by the worker processes of one ``opentoken serve --workers N``.

The supervisor process owns one ``MemoryCounters`` and a notice relay (``server.py``); each worker reaches
them over a Unix domain socket (``link.py``) through ``LocalCounters`` and ``LocalBus``, one round trip per
counter operation, in the length-prefixed msgpack frames of ``wire.py``.
"""
