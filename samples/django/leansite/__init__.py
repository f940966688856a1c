"""The Django project of the lean-mtls sample (settings and URLs)."""
