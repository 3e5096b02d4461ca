"""Inventory service: stock levels, reservations and restock orders for the shop's warehouses.

Written for Headroom's `make run` demo: a realistic module whose bodies the code compressor elides.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)

RESERVATION_TTL = timedelta(minutes=15)
LOW_STOCK_THRESHOLD = 5


class OutOfStock(Exception):
    """Raised when a reservation asks for more units than a warehouse holds."""


@dataclass
class Reservation:
    """Units held for a checkout until it completes or the reservation expires."""

    sku: str
    warehouse: str
    quantity: int
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(timezone.utc)) - self.created_at > RESERVATION_TTL


class Inventory:
    """Stock per (sku, warehouse), safe to share between request threads.

    Reservations subtract from what is available without touching the stock itself, so an
    abandoned checkout gives its units back when the reservation expires.
    """

    def __init__(self, stock: dict[tuple[str, str], int] | None = None) -> None:
        self._stock: dict[tuple[str, str], int] = defaultdict(int, stock or {})
        self._reservations: dict[str, Reservation] = {}
        self._lock = threading.Lock()

    def available(self, sku: str, warehouse: str) -> int:
        """Units that can still be reserved: stock minus live reservations."""
        with self._lock:
            held = sum(
                r.quantity
                for r in self._reservations.values()
                if r.sku == sku and r.warehouse == warehouse and not r.expired()
            )
            return self._stock[(sku, warehouse)] - held

    def reserve(self, order_id: str, sku: str, warehouse: str, quantity: int) -> Reservation:
        """Hold ``quantity`` units for ``order_id``.

        Raises:
            OutOfStock: the warehouse cannot cover the request.
        """
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        if self.available(sku, warehouse) < quantity:
            log.warning("out of stock: %s x%d at %s for %s", sku, quantity, warehouse, order_id)
            raise OutOfStock(f"{sku}: {quantity} requested at {warehouse}")
        reservation = Reservation(sku, warehouse, quantity)
        with self._lock:
            self._reservations[order_id] = reservation
        log.info("reserved %s x%d at %s for %s", sku, quantity, warehouse, order_id)
        return reservation

    def commit(self, order_id: str) -> None:
        """Turn a reservation into a sale: the units leave the stock for good."""
        with self._lock:
            reservation = self._reservations.pop(order_id, None)
            if reservation is None:
                raise KeyError(f"no reservation for order {order_id}")
            key = (reservation.sku, reservation.warehouse)
            self._stock[key] -= reservation.quantity
            remaining = self._stock[key]
        if remaining <= LOW_STOCK_THRESHOLD:
            log.warning("low stock: %s at %s has %d left", key[0], key[1], remaining)

    def release_expired(self) -> int:
        """Drop expired reservations; returns how many were released."""
        now = datetime.now(timezone.utc)
        with self._lock:
            expired = [order for order, r in self._reservations.items() if r.expired(now)]
            for order in expired:
                del self._reservations[order]
        if expired:
            log.info("released %d expired reservations", len(expired))
        return len(expired)

    def restock(self, sku: str, warehouse: str, quantity: int) -> int:
        """Add delivered units; returns the new stock level."""
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        with self._lock:
            self._stock[(sku, warehouse)] += quantity
            level = self._stock[(sku, warehouse)]
        log.info("restocked %s at %s: +%d -> %d", sku, warehouse, quantity, level)
        return level


def restock_plan(
    inventory: Inventory, skus: list[str], warehouses: list[str], target: int
) -> list[tuple[str, str, int]]:
    """The orders that bring every (sku, warehouse) pair back up to ``target`` units."""
    plan = []
    for sku in skus:
        for warehouse in warehouses:
            missing = target - inventory.available(sku, warehouse)
            if missing > 0:
                plan.append((sku, warehouse, missing))
    plan.sort(key=lambda item: -item[2])
    return plan
