"""riskwatch: dynamic risk assessment for corporate client attrition."""

__version__ = "0.1.0"
