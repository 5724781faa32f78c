"""The domain model: aggregates, their events and the rules they guard. Pure, no I/O."""
