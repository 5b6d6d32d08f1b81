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

class ModelFileError(ValueError):
    """A model or update file that does not fit: not safetensors, a missing, extra or reshaped
    tensor, a non-float dtype, NaN, a weight beyond ±MODEL_BOUND (the message names the tensor
    and index)."""

class UnknownJobError(LookupError):
    """No job with that id on the market."""

class WrongNetworkError(RuntimeError):
    """The RPC node serves another chain than `chain_id`."""

class ChainFailure(RuntimeError):
    """The chain refused or could not carry out a call or transaction (the message says which
    and why, e.g. the contract's custom error)."""

class Trainer:
    """A trainer's seat in one job: its key, the chain, the job's blob storage and, with `api`,
    the aggregator's intake (receipts kept under `receipts`). Calls block until the chain has
    answered; the GIL is released meanwhile.

    Raises UnknownJobError, WrongNetworkError, AddressError, ValueError (key) or ChainFailure."""

    def __init__(
        self,
        rpc: str,
        market: str,
        job: int,
        private_key: str,
        storage: str = ".fedproof/storage",
        api: str | None = None,
        receipts: str = ".fedproof/receipts",
        chain_id: int | None = None,
    ) -> None: ...
    @property
    def job_id(self) -> int: ...
    @property
    def layout(self) -> list[tuple[str, list[int], str]]:
        """The job's model tensors in order: (name, shape, dtype)."""
    def join(self) -> int:
        """Joins with the job's stake (once; before round 0 opens); returns the slot."""
    def submit(self, update: bytes, round: int | None = None, seed: int = 1) -> dict:
        """Submits Δ, the bytes of a safetensors file of the job's tensors (e.g.
        `safetensors.numpy.save({name: array})`), to `round` (default: the one open now): clips
        and encodes it, commits on chain and, through the intake, delivers it and keeps the
        receipt. Returns {"round", "commitment", "tx", "receipt", "clipped"}.

        Raises ModelFileError for a file that does not fit, ChainFailure if the chain refuses."""
    def commit(self, update: bytes, round: int | None = None, seed: int = 1) -> dict:
        """Commits Δ (as for `submit`) to `round` (default: the one open now) on chain, joining
        first if needed, and returns the sealed update for the caller to deliver (the Flower mod
        puts it in its reply; `Aggregator.accept` takes it only if it is the blob committed on
        chain). Returns {"round", "slot", "commitment", "tx", "clipped", "sealed"}.

        Raises ModelFileError for a file that does not fit, ChainFailure if the chain refuses
        (e.g. the slot already submitted to that round)."""
    def withdraw(self) -> int:
        """Claims this trainer's share of every finalized round (disputing, with kept receipts, a
        round that called its receipted update unavailable) and withdraws what the market owes
        it; returns the amount withdrawn (wei)."""

class Owner:
    """A project owner's key on a JobMarket, with the market's blob storage. Calls block until
    the chain has answered; the GIL is released meanwhile.

    Raises WrongNetworkError, AddressError, ValueError (key) or ChainFailure."""

    def __init__(
        self,
        rpc: str,
        market: str,
        private_key: str,
        storage: str = ".fedproof/storage",
        chain_id: int | None = None,
    ) -> None: ...
    def create_job(
        self,
        model: bytes,
        *,
        aggregator: str,
        aggregator_recipient: str,
        verifier: str,
        trainers: int,
        rounds: int,
        budget: int,
        stake: int = 0,
        bond: int | None = None,
        max_malicious: int = 1,
        tau: float = 1.5,
        lr: float = 1.0,
        start_delay: int = 60,
        submit_window: int = 600,
        finalize_window: int = 600,
        architecture: str = "custom",
        recipe: tuple[str, str] | None = None,
    ) -> int:
        """Escrows `budget` wei and posts a job training `model` (the bytes of a safetensors file
        of float tensors, weights within ±MODEL_BOUND; its tensors become the job's layout).
        `recipe` is an optional (uri, sha256) of the training recipe. Returns the job id.

        Raises ModelFileError for a model that does not fit, ValueError for bad terms (tau in
        [1, 65536), lr in (0, 1024)), ChainFailure if the contract refuses."""
    def status(self, job: int) -> dict:
        """The job's state: status, round, rounds, joined, trainers, bond_posted, submitted,
        escrow, unclaimed, unrecorded, model. Raises UnknownJobError."""
    def rounds(self, job: int) -> list[dict]:
        """The job's finalized rounds from the chain: for each, "round", "tx", "proof" (the
        Groth16 proof the contract verified, eight 0x words), "inliers" and "unavailable" (a bool
        per slot) and "scores" (payouts are pro rata to them)."""
    def download_model(self, job: int) -> tuple[int, bytes]:
        """The latest model, checked against the chain: (the round it starts, the bytes of a
        safetensors file of the job's tensors; `safetensors.numpy.load` reads it)."""
    def payouts(self, job: int) -> list[int]:
        """What each slot has been paid so far (wei, in slot order): its claimed shares."""

class Aggregator:
    """The aggregator of one job, driven one round at a time (the Flower strategy does): its key
    on the chain, its age identity `sealing_key` (`fedproof aggregator keygen`), the Groth16
    keys of the job's shape under `keys` (the directory `fedproof deploy --keys` used for the
    job's verifier) and the job's blob storage. Calls block until done; the GIL is released
    meanwhile (proving runs on all cores).

    Raises UnknownJobError, WrongNetworkError, AddressError, ValueError (key, sealing key,
    missing proving key, a chunked job) or ChainFailure."""

    def __init__(
        self,
        rpc: str,
        market: str,
        job: int,
        private_key: str,
        sealing_key: str,
        keys: str,
        storage: str = ".fedproof/storage",
        chain_id: int | None = None,
        upload_grace: float = 5.0,
    ) -> None: ...
    @property
    def job_id(self) -> int: ...
    @property
    def trainers(self) -> int:
        """The job's trainer slots."""
    def status(self) -> dict:
        """The job's state, as `Owner.status` gives it."""
    def post_bond(self) -> None:
        """Posts the bond if the job has none yet (round 0 opens only then)."""
    def model(self) -> tuple[int, bytes]:
        """The model the current round starts from, checked against the chain: (round,
        safetensors bytes)."""
    def accept(self, round: int, slot: int, sealed: bytes) -> str:
        """Takes a sealed update `slot` delivered for `round` into storage if it is the blob the
        slot committed to on chain; returns its CID. Raises ChainFailure otherwise."""
    def finalize_round(self) -> dict | None:
        """Waits for the current round's submissions (every joined slot, or the submit window's
        end; an update not delivered within `upload_grace` makes its slot unavailable), proves
        the round and finalizes it on chain. Returns {"round", "submitted", "unavailable"
        [(slot, reason)], "inliers", "scores", "prove_seconds", "finalize_gas", "tx", "model"
        (safetensors bytes of the new model)}; None once the job has ended."""
