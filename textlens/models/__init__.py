"""Model families behind one registry: recognition, detection and glimpse models.

Importing this package does not import torch; ``create_model`` does, when it builds a module.
"""

from textlens.models.registry import (
    ModelSpec,
    create_model,
    get_spec,
    list_models,
    register_model,
    weights_dir,
)

__all__ = ["ModelSpec", "create_model", "get_spec", "list_models", "register_model", "weights_dir"]
