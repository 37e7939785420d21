"""``textlens studio``: annotate OCR data in the browser with model pre-labels, and validate models on it.

``store`` keeps ``DIR/manifest.jsonl`` (the trainer's manifest) with per-page versions and undo history;
``prelabel`` reads pages with the bundled models in the background; ``validate`` scores a model like
``textlens eval page``; ``export`` writes ICDAR 2015, a train/val split and LMDB; ``app`` is the FastAPI app and
``server`` runs it under uvicorn (docs/studio.md).
"""
