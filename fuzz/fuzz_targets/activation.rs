//! Fuzzes the ISAPI activation challenge (`driver::isapi::activation`): the camera's
//! answer read by `cipher_from` (XML, Base64, hex) and the decrypted secret's checks
//! (`secret_from_plain`) on every input, and `activate_body` with a fuzzed secret and
//! password. The whole `ChallengeKey::secret_from` (with the RSA decryption, the input
//! as sent and RSA-encrypted to our key) runs on one input in 64, picked by the input's
//! hash: a 1024-bit private-key operation under libFuzzer's comparison tracing cost
//! about 4 ms, 90 % of the run (perf), and it is the `rsa` crate's code, not ours.
#![no_main]

use std::sync::OnceLock;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use libfuzzer_sys::fuzz_target;
use portcullis_core::driver::isapi::activation::{self, activate_body, ChallengeKey};
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};

/// One key pair for the whole run (making one per input would be all the run did),
/// and its public half as the camera rebuilds it from our request.
fn key() -> &'static Option<(ChallengeKey, RsaPublicKey)> {
    static KEY: OnceLock<Option<(ChallengeKey, RsaPublicKey)>> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = ChallengeKey::generate().ok()?;
        let request = key.request_body();
        let b64 = request.split("<key>").nth(1)?.split("</key>").next()?;
        let modulus = hex::decode(B64.decode(b64).ok()?).ok()?;
        let public = RsaPublicKey::new(rsa::BigUint::from_bytes_be(&modulus), rsa::BigUint::from(65_537u32)).ok()?;
        Some((key, public))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = portcullis_fuzz::text(data);
    let _ = activate_body(&text, &text);
    let (secret, password) = text.split_at(text.char_indices().nth(32).map_or(text.len(), |(i, _)| i));
    let _ = activate_body(secret, password);
    let _ = activation::cipher_from(&text);
    let _ = activation::secret_from_plain(data.to_vec());
    let mut rng = rand_core_seeded(data);
    if (rng.0 >> 1) % 64 != 0 {
        return;
    }
    let Some((key, public)) = key() else { return };
    let _ = key.secret_from(&text);
    // The same bytes as the secret the camera chose (PKCS#1 v1.5 takes at most 117).
    let plain = data.get(..data.len().min(117)).unwrap_or_default();
    // Encryption is random: a seed from the input keeps a crash reproducible.
    if let Ok(cipher) = public.encrypt(&mut rng, Pkcs1v15Encrypt, plain) {
        let answer = format!(
            "<Challenge xmlns=\"http://www.isapi.org/ver20/XMLSchema\" version=\"2.0\"><key>{}</key></Challenge>",
            B64.encode(hex::encode(cipher))
        );
        if let Ok(secret) = key.secret_from(&answer) {
            let _ = activate_body(&secret, password);
        }
    }
});

/// A deterministic RNG (xorshift, seeded from the input) for the padding.
fn rand_core_seeded(data: &[u8]) -> Seeded {
    let seed = data.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3));
    Seeded(seed | 1)
}

struct Seeded(u64);

impl rsa::rand_core::RngCore for Seeded {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest.iter_mut() {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for Seeded {}
