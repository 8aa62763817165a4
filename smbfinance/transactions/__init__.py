"""Bank accounts, their transactions, statement imports and categorisation rules."""
