"""Helpdesk integrations (contract §6): webhooks in, durable deliveries, notes and fields written back.

Public surface: `router` (the three webhook routes) and `Integrations` (built once per service).
"""

from api.integrations._service import Integrations
from api.integrations.routes import router

__all__ = ["Integrations", "router"]
