"""GDPR: a company's complete export, and erasure of a person's data by pseudonymisation
(ADR 0029, docs/gdpr.md)."""
