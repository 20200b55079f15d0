"""Checks above the domain: the audit trail replayed against the tables, and the whole
inspection (chain, tree heads, checkpoints, witnesses, trail vs tables) an inspector runs."""
