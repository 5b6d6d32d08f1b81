//! libFuzzer entry point of [`fedproof_fuzz::key_file`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fedproof_fuzz::key_file(data));
