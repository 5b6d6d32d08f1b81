//! libFuzzer entry point of [`fedproof_fuzz::signed_upload`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fedproof_fuzz::signed_upload(data));
