"""fedproof for Python: encode, commit and seal model updates exactly as the fedproof node does.

The functions call the node's own Rust code (built with PyO3), so a commitment computed here is
byte for byte the one the node, the aggregator and the round's proof compute.
"""

from typing import Sequence

__version__: str
UPDATE_CLIP_BOUND: float
"""The largest |Δ| the update encoding holds (0.496…): larger values are clipped."""
MODEL_BOUND: float
"""The largest |weight| the model encoding holds (≈ 8)."""

class EncodingError(ValueError):
    """Values that do not fit fedproof's encodings: NaN or infinite, beyond the range, or not
    integers of the encoding."""

class SealError(ValueError):
    """An update that cannot be sealed: a malformed age recipient."""

class AddressError(ValueError):
    """A malformed Ethereum address (20 bytes as 0x-hex)."""

def encode_update(values: Sequence[float], seed: int = 1) -> tuple[list[int], int]:
    """Encodes an update Δ: clipped to ±UPDATE_CLIP_BOUND, then rounded stochastically with
    `seed` to 8-bit integers. Returns the integers and how many values were clipped.

    Raises EncodingError for a NaN or infinite value (with its index)."""

def encode_model(values: Sequence[float]) -> list[int]:
    """Encodes model weights (rounded to nearest, 20 fractional bits).

    Raises EncodingError for a weight beyond ±MODEL_BOUND or not finite (with its index)."""

def decode_model(values: Sequence[int]) -> list[float]:
    """Decodes an encoded model back to weights."""

def job_domain(chain_id: int, market: str, job_id: int, roster: Sequence[str]) -> int:
    """A job's domain: the chain id, the JobMarket address, the job id and the slot owners'
    addresses in slot order. Raises AddressError for a malformed address."""

def commit_update(domain: int, round: int, slot: int, values: Sequence[int]) -> int:
    """The commitment a trainer posts with `submitUpdate` for its encoded update.

    Raises EncodingError for a value outside the update encoding's 8 bits."""

def commit_model(job_id: int, round: int, values: Sequence[int]) -> int:
    """The commitment to an encoded model of a job (round 0: the job's `initialModel`)."""

def update_blob(job_id: int, round: int, slot: int, values: Sequence[int]) -> bytes:
    """The update blob (a safetensors file with one I8 tensor `values`): what is sealed."""

def seal_update(recipient: str, job_id: int, round: int, slot: int, values: Sequence[int]) -> bytes:
    """The update blob sealed to the aggregator's age recipient (`age1…`): what is uploaded.

    Raises SealError for a malformed recipient, EncodingError for values out of range."""
