"""Users, tenants, memberships, tokens and permissions."""
