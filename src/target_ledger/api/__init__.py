"""The HTTP API: controllers that translate, auth, and one map from errors to problems."""
