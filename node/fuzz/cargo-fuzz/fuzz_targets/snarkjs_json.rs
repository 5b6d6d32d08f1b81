//! libFuzzer entry point of [`fedproof_fuzz::snarkjs_json`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fedproof_fuzz::snarkjs_json(data));
