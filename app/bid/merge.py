from app.bid import bp  # noqa: F401  (routes are being built)
