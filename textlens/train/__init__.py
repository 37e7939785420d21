"""Training: Lightning systems, data streams and the ``train rec`` glue (imports torch and Lightning)."""
