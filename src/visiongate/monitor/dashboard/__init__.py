"""The monitoring dashboard: executions, the endpoint, confidence, drift and cost, in a browser.

from visiongate.monitor.dashboard import Dashboard, DashboardConfig
dashboard = Dashboard(DashboardConfig(settings, model_dir=..., captures=...), port=0)
url = dashboard.start()      # background thread; dashboard.stop() to end
"""

from __future__ import annotations

from visiongate.monitor.dashboard.actions import (
    ActionError,
    CallableActions,
    StepFunctionsActions,
)
from visiongate.monitor.dashboard.app import App, Dashboard
from visiongate.monitor.dashboard.context import DashboardConfig
from visiongate.monitor.dashboard.security import DashboardSecurityError

__all__ = [
    "ActionError",
    "App",
    "CallableActions",
    "Dashboard",
    "DashboardConfig",
    "DashboardSecurityError",
    "StepFunctionsActions",
]
