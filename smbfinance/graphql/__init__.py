"""The GraphQL door (strawberry): schema merged from each domain's module."""
