"""Importing this package registers every endpoint on the api blueprint."""

from service.api.routes import accounts, campaigns, meta, organizations, standards

__all__ = ["accounts", "campaigns", "meta", "organizations", "standards"]
