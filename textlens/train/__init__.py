"""Training (imports torch and Lightning): one trainer per family, each split the same way, and the parts they
share (``common``: device and precision, workers, seeding, AdamW and the schedule, the source specs, the export
folder and the run summary; ``callbacks``; the resumable streams ``stream`` and ``resume``).

- recognition, ``train rec``: ``rec`` (trainer), ``system``, ``data``, ``sources``, ``finetune``
- detection, ``train det``: ``detection`` (trainer), ``det_system``, ``det_loss``, ``det_data``, ``det_sources``
- glimpse, ``train glimpse``: ``glimpse`` (trainer), ``glimpse_config``, ``glimpse_system``, ``glimpse_data``,
  ``glimpse_eval``

Training never imports ``textlens.export``: the CLI hands a trainer the graph exporter it wants run.
"""
