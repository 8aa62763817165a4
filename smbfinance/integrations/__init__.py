"""Live integrations with Ponto Connect (banking) and Yuki (accounting).

`providers/` holds the provider-neutral interface, one adapter and one pure transformer per
provider; `sandbox/` holds local simulators that answer like the real services; `secrets.py`
encrypts credentials at rest. See docs/integrations.md.
"""
