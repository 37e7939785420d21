"""onnxruntime without network traffic: every textlens import of onnxruntime goes through here.

Official onnxruntime wheels from 1.29 on carry the 1DS telemetry SDK on Linux too (see onnxruntime's
``Privacy.md``; 1.28 and older have none). Importing onnxruntime starts an uploader that, about 9 s
later and then again every few seconds, resolves ``mobile.events.data.microsoft.com`` (DNS over UDP
port 53) to post usage events, and writes a device id and an event database under
``$XDG_CACHE_HOME/Microsoft/DeveloperTools/`` (``~/.cache`` by default).
``onnxruntime.disable_telemetry_events()`` does not stop the uploader: it only drops events sent
after the call. The one runtime switch that does is the environment variable
``ORT_DISABLE_TELEMETRY=1``, and onnxruntime reads it once, when its module is first imported, so
it must be set before that import. Importing this module sets it (``textlens.runtime`` imports it
first), and ``import_onnxruntime`` is the way the rest of textlens gets the module.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import ModuleType

TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"

# Recorded before the variable is set: an onnxruntime imported earlier (by the application, or a
# library imported before textlens) has already started its uploader, and nothing here can stop it.
_IMPORTED_TOO_EARLY = "onnxruntime" in sys.modules and os.environ.get(TELEMETRY_ENV) != "1"
_warned = False


def disable_telemetry() -> None:
    """Set ``ORT_DISABLE_TELEMETRY=1`` so an onnxruntime imported from now on never starts its uploader.

    It is set unconditionally (a value of 0 from the environment is overridden): textlens promises
    that reading opens no network connection. Child processes inherit the setting.
    """
    os.environ[TELEMETRY_ENV] = "1"


def import_onnxruntime() -> ModuleType:
    """The onnxruntime module, imported with its telemetry switched off.

    If onnxruntime was imported before textlens could set the variable, its uploader is already
    running: warn once, and switch its optional events off, which is all that can still be done.
    """
    global _warned
    disable_telemetry()
    import onnxruntime

    if _IMPORTED_TOO_EARLY and not _warned:
        _warned = True
        onnxruntime.disable_telemetry_events()
        warnings.warn(
            f"onnxruntime was imported before textlens could switch its telemetry off, so it may "
            f"contact Microsoft's telemetry service; set {TELEMETRY_ENV}=1 in the environment, or "
            "import textlens.runtime before onnxruntime",
            RuntimeWarning,
            stacklevel=2,
        )
    return onnxruntime


disable_telemetry()
