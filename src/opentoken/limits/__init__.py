"""Per-key rate limits and budgets, enforced before the upstream call, exact across replicas.

How the limits of an ``ApiKey`` behave (a ``None`` limit is not enforced):

- ``rpm``: at most ``rpm`` admitted requests in any sliding 60 s. A request released without usage (the
  upstream call failed) is not counted; a settled one is.
- ``tpm``: at most ``tpm`` tokens in any sliding 60 s. Admission reserves ``prompt estimate + max output
  tokens``; settling replaces the reservation by the actual tokens; releasing removes it. A request whose
  reservation alone exceeds ``tpm`` is refused with ``x-should-retry: false`` (lower ``max_tokens``).
- ``max_concurrent``: at most that many requests in flight. Slots are leases (30 s) renewed by the
  process holding them, so a replica that dies frees its slots within one lease.
- ``budget_usd`` per ``budget_period`` (UTC calendar periods: ``none`` = lifetime, ``daily`` from 00:00 UTC,
  ``weekly`` from Monday 00:00 UTC, ``monthly`` from the 1st 00:00 UTC): admission reserves the worst-case
  cost (prompt estimate at the highest input price + max output at the output price); settling charges the
  actual cost and frees the rest; releasing frees it all. Concurrency cannot overspend: a request is admitted
  only if spent + reserved + its worst case fits. Reservations are leased like slots. The spend already in
  the ledger for the period is loaded once, when the period's counter is first needed. A request is charged
  to the period in which it was admitted.

Refusals: ``RateLimited`` (429 ``rate_limit_exceeded``, ``retry_after`` set) for rpm, tpm and concurrency;
``QuotaExceeded`` (429 ``insufficient_quota``, ``x-should-retry: false``) for the budget. Both carry the
OpenAI-style ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` headers for the limits the key has;
successful responses carry them too (``Admission.headers``). Resets are written like OpenAI's ("1m0s").

Backends: ``MemoryCounters`` (one process) or ``stores.redis.RedisCounters`` (Lua scripts; any number of
replicas share exact counts). Key changes reach every replica through an ``InvalidationBus`` within one
second (and key caches expire after one second regardless).

Entry points: ``factory.open_limits`` / ``factory.close_limits``; ``base.Limiter.admit`` -> ``base.Admission``;
``invalidation.InvalidationBus``.
"""
