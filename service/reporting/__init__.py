"""Reporting upward (上报): a township's tables submitted to the committee above, by a date."""
