"""Invoices sent (receivables) and received (payables)."""
