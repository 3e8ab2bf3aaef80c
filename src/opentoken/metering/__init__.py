"""Usage records and cost; buffered durable ledger writes."""
