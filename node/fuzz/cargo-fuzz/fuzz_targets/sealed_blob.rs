//! libFuzzer entry point of [`fedproof_fuzz::sealed_blob`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fedproof_fuzz::sealed_blob(data));
