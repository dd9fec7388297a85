"""The REST API and the dashboard: ``create_app(settings)``; routes per resource."""

from riskwatch.api.app import create_app

__all__ = ["create_app"]
