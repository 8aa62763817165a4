"""Whole-company deletion: the owner's two-step request, the closed company, and the
purge once the legal retention has run out (ADR 0038, docs/tenant-deletion.md)."""
