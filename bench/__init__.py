"""Side-by-side benchmarks of textlens and peer OCR engines on the shared research sets (not tests)."""
