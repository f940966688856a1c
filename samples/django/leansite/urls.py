"""URLs of the lean-mtls Django sample."""

from __future__ import annotations

from banking import views
from django.urls import path

urlpatterns = [
    path("customers/<str:customer_id>/accounts", views.customer_accounts, name="customer-accounts"),
    path("webhooks/lean", views.lean_webhook, name="lean-webhook"),
]
