"""Lean's API areas, one module each.  Reached through the session
(``session.banks``, ``session.customers``) and loaded on first use."""
