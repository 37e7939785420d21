"""Text recognition models; importing this package registers them with ``textlens.models.registry``.

Families: ``crnn_*`` (CTC), ``attn_*`` (attention decoders), ``vitstr_*`` (parallel decoding).
"""

from textlens.models.recognition import attention, crnn, transformer
from textlens.models.recognition.decoding import decode_output

__all__ = ["attention", "crnn", "decode_output", "transformer"]
