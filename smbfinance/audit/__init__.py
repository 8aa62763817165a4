"""Who changed what, when: an entry for every change to financial data."""
