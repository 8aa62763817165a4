"""HTTP plumbing shared by both doors: problem+json, request ids, authentication glue."""
