"""Customers: the app's end users as Lean knows them."""

from __future__ import annotations

from typing import Any, cast

from ._base import Resource, segment


class Customers(Resource):
    """``/customers/v1``."""

    def create(self, app_user_id: str) -> dict[str, Any]:
        """Create a customer for your own user id; returns ``{customer_id, app_user_id}``.

        Raises :class:`~lean_mtls.errors.ConflictError` (``CUSTOMER_ALREADY_EXISTS``)
        when the ``app_user_id`` is taken: use :meth:`get_by_app_user_id` then.
        """
        return cast("dict[str, Any]", self._request("POST", "/customers/v1/", json={"app_user_id": app_user_id}))

    def get(self, customer_id: str) -> dict[str, Any]:
        """Fetch one customer by Lean's ``customer_id``."""
        path = f"/customers/v1/{segment(customer_id, 'customer_id')}"
        return cast("dict[str, Any]", self._request("GET", path))

    def get_by_app_user_id(self, app_user_id: str) -> dict[str, Any]:
        """Fetch one customer by your own ``app_user_id``."""
        path = f"/customers/v1/app-user-id/{segment(app_user_id, 'app_user_id')}"
        return cast("dict[str, Any]", self._request("GET", path))
