"""Customers and suppliers (counterparties)."""
