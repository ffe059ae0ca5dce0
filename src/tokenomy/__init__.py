"""tokenomy: how many tokens is this, does it fit, how do I make it fit, and what will it cost?

>>> import tokenomy
>>> tokenomy.count("tiktoken is great!", model="gpt-4o")
6

``import tokenomy`` loads only the error classes; each other name loads its module on first use,
so a short script or the command line pays only for what it calls.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tokenomy.errors import (
    BudgetError,
    BudgetExceededError,
    DatasetError,
    EncodingError,
    EncodingFileError,
    EncodingUnavailableError,
    EndpointShutDownError,
    ImageError,
    InputFileError,
    InvalidArgumentError,
    MessageFormatError,
    PriceUnavailableError,
    RegistryError,
    ResultFormatError,
    TokenomyError,
    UnknownEncodingError,
    UnknownEndpointError,
    UnknownModelError,
    UnsupportedModelError,
    ZeroRetentionError,
)

if TYPE_CHECKING:
    from tokenomy.backends import BackendStatus, backend_info
    from tokenomy.budget import Allocation, Budget, BudgetReport, FitResult, Section
    from tokenomy.calibrate import Calibration
    from tokenomy.chunking import Chunk, chunk, chunk_ids, chunk_tokens
    from tokenomy.cost import (
        Cost,
        cost_from_usage,
        cost_of_request,
        default_epochs,
        estimate_cost,
        fine_tuning_cost,
    )
    from tokenomy.datasets import DatasetReport, DatasetStats, analyze
    from tokenomy.embeddings import (
        EmbeddingInputCount,
        combine_embeddings,
        count_embedding_input,
        embed_chunks,
        embed_long,
        embedding_chunks,
    )
    from tokenomy.encodings import encoding_names, set_encodings_dir
    from tokenomy.endpoint import EndpointInfo, endpoint_info, endpoints
    from tokenomy.images import ImageCount, count_image
    from tokenomy.moderation import (
        ModerationPlan,
        merge_moderation,
        moderate_long,
        moderate_long_batch,
        moderation_chunks,
    )
    from tokenomy.preflight import check_request
    from tokenomy.reconciliation import LineIssue, ReconciledRequest, Reconciliation
    from tokenomy.reconciling import reconcile
    from tokenomy.registry import ModelInfo, Price, model_info, models, register_model
    from tokenomy.requests import MessageCount, RequestCount, count_messages, count_request
    from tokenomy.rules import load_rules
    from tokenomy.tokenizer import Tokenizer, count, encoding_for
    from tokenomy.truncation import Truncation, fits, truncate
    from tokenomy.unit_cost import UnitCost, image_cost, speech_cost, transcription_cost

__version__ = "0.1.0"

# module -> the public names it provides, loaded on first access (PEP 562)
_LAZY = {
    "tokenomy.backends": ("BackendStatus", "backend_info"),
    "tokenomy.budget": ("Allocation", "Budget", "BudgetReport", "FitResult", "Section"),
    "tokenomy.calibrate": ("Calibration",),
    "tokenomy.chunking": ("Chunk", "chunk", "chunk_ids", "chunk_tokens"),
    "tokenomy.cost": ("Cost", "cost_from_usage", "cost_of_request", "default_epochs", "estimate_cost",
                      "fine_tuning_cost"),
    "tokenomy.datasets": ("DatasetReport", "DatasetStats", "analyze"),
    "tokenomy.embeddings": ("EmbeddingInputCount", "combine_embeddings", "count_embedding_input",
                            "embed_chunks", "embed_long", "embedding_chunks"),
    "tokenomy.encodings": ("encoding_names", "set_encodings_dir"),
    "tokenomy.endpoint": ("EndpointInfo", "endpoint_info", "endpoints"),
    "tokenomy.images": ("ImageCount", "count_image"),
    "tokenomy.moderation": ("ModerationPlan", "merge_moderation", "moderate_long", "moderate_long_batch",
                            "moderation_chunks"),
    "tokenomy.preflight": ("check_request",),
    "tokenomy.reconciliation": ("LineIssue", "ReconciledRequest", "Reconciliation"),
    "tokenomy.reconciling": ("reconcile",),
    "tokenomy.registry": ("ModelInfo", "Price", "model_info", "models", "register_model"),
    "tokenomy.requests": ("MessageCount", "RequestCount", "count_messages", "count_request"),
    "tokenomy.rules": ("load_rules",),
    "tokenomy.tokenizer": ("Tokenizer", "count", "encoding_for"),
    "tokenomy.truncation": ("Truncation", "fits", "truncate"),
    "tokenomy.unit_cost": ("UnitCost", "image_cost", "speech_cost", "transcription_cost"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


__all__ = [
    "Allocation",
    "BackendStatus",
    "Budget",
    "BudgetError",
    "BudgetExceededError",
    "BudgetReport",
    "Calibration",
    "Chunk",
    "Cost",
    "DatasetError",
    "DatasetReport",
    "DatasetStats",
    "EmbeddingInputCount",
    "EncodingError",
    "EncodingFileError",
    "EncodingUnavailableError",
    "EndpointInfo",
    "EndpointShutDownError",
    "FitResult",
    "ImageCount",
    "ImageError",
    "InputFileError",
    "InvalidArgumentError",
    "LineIssue",
    "MessageCount",
    "MessageFormatError",
    "ModelInfo",
    "ModerationPlan",
    "Price",
    "PriceUnavailableError",
    "ReconciledRequest",
    "Reconciliation",
    "RegistryError",
    "RequestCount",
    "ResultFormatError",
    "Section",
    "Tokenizer",
    "TokenomyError",
    "Truncation",
    "UnitCost",
    "UnknownEncodingError",
    "UnknownEndpointError",
    "UnknownModelError",
    "UnsupportedModelError",
    "ZeroRetentionError",
    "__version__",
    "analyze",
    "backend_info",
    "check_request",
    "chunk",
    "chunk_ids",
    "chunk_tokens",
    "combine_embeddings",
    "cost_from_usage",
    "cost_of_request",
    "count",
    "count_embedding_input",
    "count_image",
    "count_messages",
    "count_request",
    "default_epochs",
    "embed_chunks",
    "embed_long",
    "embedding_chunks",
    "encoding_for",
    "encoding_names",
    "endpoint_info",
    "endpoints",
    "estimate_cost",
    "fine_tuning_cost",
    "fits",
    "image_cost",
    "load_rules",
    "merge_moderation",
    "model_info",
    "models",
    "moderate_long",
    "moderate_long_batch",
    "moderation_chunks",
    "reconcile",
    "register_model",
    "set_encodings_dir",
    "speech_cost",
    "transcription_cost",
    "truncate",
]
