//! libFuzzer entry point of [`fedproof_fuzz::cid`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fedproof_fuzz::cid(data));
