"""`python -m target_ledger` is the `target-ledger` command."""

from target_ledger.cli import main

main(prog_name="target-ledger")
