"""tokenomy: how many tokens is this, does it fit, how do I make it fit, and what will it cost?

>>> import tokenomy
>>> tokenomy.count("tiktoken is great!", model="gpt-4o")
6
"""

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

__version__ = "0.1.0"

__all__ = [
    "BudgetError",
    "BudgetExceededError",
    "EncodingError",
    "EncodingFileError",
    "EncodingUnavailableError",
    "ImageCount",
    "ImageError",
    "MessageCount",
    "MessageFormatError",
    "ModelInfo",
    "Price",
    "PriceUnavailableError",
    "RegistryError",
    "Tokenizer",
    "TokenomyError",
    "UnknownModelError",
    "UnsupportedModelError",
    "__version__",
    "count",
    "count_image",
    "count_messages",
    "encoding_for",
    "encoding_names",
    "model_info",
    "models",
    "register_model",
    "set_encodings_dir",
]
