"""GitHub's webhook deliveries: received (receiver), checked (payloads), remembered (deliveries), applied to
the store or turned into realtime jobs (apply, coalesce), and asked for again when missed (redeliver)."""
