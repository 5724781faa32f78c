"""Read models built from the event log, one module each, and the runner that feeds them."""
