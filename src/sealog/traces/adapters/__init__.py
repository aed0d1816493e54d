"""One adapter per foreign trace format (see :mod:`sealog.traces.adapters._base`)."""
