"""Signals the engine sends for modules that build on it (sent after commit only).

``order_registered(sender=WorkOrder, order=...)``: a new work order was registered
through any channel; receivers must be quick and must not raise (queue work instead).
"""

from django.dispatch import Signal

order_registered = Signal()
