"""tokenomy: how many tokens is this, does it fit, how do I make it fit, and what will it cost?

>>> import tokenomy
>>> tokenomy.count("tiktoken is great!", model="gpt-4o")
6
"""

from tokenomy.budget import Allocation, Budget, BudgetReport, FitResult, Section
from tokenomy.chunking import Chunk, chunk, chunk_tokens
from tokenomy.encodings import encoding_names, set_encodings_dir
from tokenomy.errors import (
    BudgetError,
    BudgetExceededError,
    EncodingError,
    EncodingFileError,
    EncodingUnavailableError,
    ImageError,
    MessageFormatError,
    PriceUnavailableError,
    RegistryError,
    TokenomyError,
    UnknownModelError,
    UnsupportedModelError,
)
from tokenomy.images import ImageCount, count_image
from tokenomy.messages import MessageCount, count_messages
from tokenomy.registry import ModelInfo, Price, model_info, models, register_model
from tokenomy.tokenizer import Tokenizer, count, encoding_for
from tokenomy.truncation import Truncation, fits, truncate

__version__ = "0.1.0"

__all__ = [
    "Allocation",
    "Budget",
    "BudgetError",
    "BudgetExceededError",
    "BudgetReport",
    "Chunk",
    "EncodingError",
    "EncodingFileError",
    "EncodingUnavailableError",
    "FitResult",
    "ImageCount",
    "ImageError",
    "MessageCount",
    "MessageFormatError",
    "ModelInfo",
    "Price",
    "PriceUnavailableError",
    "RegistryError",
    "Section",
    "Tokenizer",
    "TokenomyError",
    "Truncation",
    "UnknownModelError",
    "UnsupportedModelError",
    "__version__",
    "chunk",
    "chunk_tokens",
    "count",
    "count_image",
    "count_messages",
    "encoding_for",
    "encoding_names",
    "fits",
    "model_info",
    "models",
    "register_model",
    "set_encodings_dir",
    "truncate",
]
