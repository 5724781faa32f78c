"""Integration events for other systems: the public contract, feed, stream, webhooks and NATS relay."""
