"""Signals for the apps built on customers, so that customers needs to know nothing of them
(README.md, Layers: analytics reads all, nothing imports it).

- `customers_merged(sender=Customer, survivor, others)`: sent inside a merge's transaction.
  A receiver moves what it keeps about the merged customers and returns ``(key, undo_data)``
  (JSON-serialisable) or None; the merge record keeps the data under that key.
- `merge_undone(sender=Customer, survivor, carried)`: sent inside the undo's transaction with
  every receiver's data by key; each receiver restores its own.
"""

from django.dispatch import Signal

customers_merged = Signal()
merge_undone = Signal()
