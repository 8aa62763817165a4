"""Categories and categorisation rules for bank transactions (see rules.py for matching)."""
