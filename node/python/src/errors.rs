//! The exceptions the package raises, each a subclass of a built-in one so that generic handlers
//! still catch them.

use pyo3::create_exception;
use pyo3::exceptions::{PyLookupError, PyRuntimeError, PyValueError};

create_exception!(
    fedproof,
    EncodingError,
    PyValueError,
    "Values that do not fit fedproof's encodings: NaN or infinite, beyond the range, or not integers of the encoding."
);
create_exception!(fedproof, SealError, PyValueError, "An update that cannot be sealed: a malformed age recipient.");
create_exception!(fedproof, AddressError, PyValueError, "A malformed Ethereum address (20 bytes as 0x-hex).");
create_exception!(
    fedproof,
    ModelFileError,
    PyValueError,
    "A model or update file that does not fit: not safetensors, a missing, extra or reshaped tensor, a non-float dtype, NaN, a weight out of range."
);
create_exception!(fedproof, UnknownJobError, PyLookupError, "No job with that id on the market.");
create_exception!(
    fedproof,
    WrongNetworkError,
    PyRuntimeError,
    "The RPC node serves another chain than the one asked for."
);
create_exception!(
    fedproof,
    ChainFailure,
    PyRuntimeError,
    "The chain refused or could not carry out a call or transaction (the message says which and why)."
);
