"""Data: typed samples, the manifest format, charsets, dataset readers and the synthetic engine."""
