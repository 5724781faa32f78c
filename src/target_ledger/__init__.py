"""Target Ledger: event-sourced sales target management."""
