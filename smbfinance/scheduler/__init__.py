"""The one-minute tick: asks each registered domain what is due now and enqueues it."""
