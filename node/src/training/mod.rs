//! Local training on the UCI 8×8 digits data set and the federated simulation around it.
//!
//! - [`data`]: loading the data set, the owner's held-out split and the non-IID partition.
//! - [`mlp`]: the 64-32-10 model, its flat parameter layout and minibatch SGD.
//! - [`local`]: one trainer's job: train from the global model, return the update Δ.
//! - [`federated`]: rounds of local training plus float or fixed-point aggregation.
//! - [`model_file`]: a job's models and updates as safetensors files, in and out of the encodings.
//! - [`source`]: local training as a trainer's update source, honest or adversarial.

pub mod data;
pub mod federated;
pub mod local;
pub mod mlp;
pub mod model_file;
pub mod source;
