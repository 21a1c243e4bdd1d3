"""The error inference raises for a model or an input that cannot produce a forecast."""


class PredictError(ValueError):
    """Input or model that cannot produce a forecast; the message says what to change."""
