"""Local infrastructure for development and tests: embedded PostgreSQL and Redis, database
bootstrap (roles, grants), and the process supervisor behind `make run`."""
