//! libFuzzer entry point of [`fedproof_fuzz::blob_codec`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fedproof_fuzz::blob_codec(data));
