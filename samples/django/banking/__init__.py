"""The sample's Django app: a customer's bank accounts and Lean's webhooks."""
