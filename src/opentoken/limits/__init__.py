"""Rate limits (rpm, tpm, concurrency) and budget reservations per API key, and key-change notices.

Entry points: ``open_limits`` / ``close_limits`` (factory.py), ``Limiter.admit`` -> ``Admission``
(base.py), ``InvalidationBus`` (invalidation.py). Budget periods are UTC calendar periods (periods.py).
"""
