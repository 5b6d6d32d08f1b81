"""fedproof for Python: encode, commit and seal model updates exactly as the fedproof node does,
take part in jobs as a trainer, an owner or an aggregator, and (in `fedproof.flower`) run a
Flower app whose aggregation is a proven, settled fedproof round.

Everything here but `fedproof.flower` is the node's own Rust code (`fedproof._native`, built with
PyO3), so a commitment computed here is byte for byte the one the node and the proof compute.
"""

from ._native import (
    MODEL_BOUND,
    UPDATE_CLIP_BOUND,
    Aggregator,
    AddressError,
    ChainFailure,
    EncodingError,
    ModelFileError,
    Owner,
    SealError,
    Trainer,
    UnknownJobError,
    WrongNetworkError,
    __version__,
    commit_model,
    commit_update,
    decode_model,
    encode_model,
    encode_update,
    job_domain,
    seal_update,
    update_blob,
)

__all__ = [
    "MODEL_BOUND",
    "UPDATE_CLIP_BOUND",
    "Aggregator",
    "AddressError",
    "ChainFailure",
    "EncodingError",
    "ModelFileError",
    "Owner",
    "SealError",
    "Trainer",
    "UnknownJobError",
    "WrongNetworkError",
    "__version__",
    "commit_model",
    "commit_update",
    "decode_model",
    "encode_model",
    "encode_update",
    "job_domain",
    "seal_update",
    "update_blob",
]
