//! Activation of a factory-new Hikvision camera (protocols.md §2.6): the first admin
//! password travels AES-encrypted under a key the camera sends RSA-encrypted to a key
//! pair made for this one exchange. The crypto primitives come from the `rsa` and
//! `aes` crates; only the framing (hex inside Base64, a 16-character prefix, zero
//! padding, ECB) is written here, because it is Hikvision's own and no crate does it.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};

/// A key pair for one activation.
#[derive(Debug)]
pub struct ChallengeKey {
    private: RsaPrivateKey,
}

impl ChallengeKey {
    pub fn generate() -> Result<ChallengeKey, String> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).map_err(|e| format!("RSA key: {e}"))?;
        Ok(ChallengeKey { private })
    }

    /// The `<Challenge>` body: Base64 of the lowercase hex modulus (128 bytes).
    pub fn request_body(&self) -> String {
        let mut modulus = self.private.n().to_bytes_be();
        if modulus.len() == 129 && modulus.first() == Some(&0) {
            modulus.remove(0);
        }
        format!(
            "<Challenge xmlns=\"http://www.isapi.org/ver20/XMLSchema\" version=\"2.0\"><key>{}</key></Challenge>",
            B64.encode(hex::encode(modulus))
        )
    }

    /// The camera's answer (`<key>` = Base64 of hex of the RSA ciphertext) → the 32
    /// hex characters it chose.
    pub fn secret_from(&self, answer: &str) -> Result<String, String> {
        let cipher = cipher_from(answer)?;
        let plain = self.private.decrypt(Pkcs1v15Encrypt, &cipher).map_err(|_| "the challenge does not decrypt")?;
        secret_from_plain(plain)
    }
}

/// The RSA ciphertext in the camera's answer: `<key>` holds Base64 of its hex.
pub fn cipher_from(answer: &str) -> Result<Vec<u8>, String> {
    let doc = crate::xml::parse(answer)?;
    let key = crate::xml::find_text(doc.root_element(), "key").ok_or("no key in the challenge answer")?;
    let hex_text = B64.decode(key.trim()).map_err(|_| "the challenge key is not Base64")?;
    hex::decode(hex_text.trim_ascii()).map_err(|_| "the challenge key is not hex".into())
}

/// The decrypted challenge → the secret, if it has the shape activation needs (32 hex
/// characters): anything else the camera sent is refused here.
pub fn secret_from_plain(plain: Vec<u8>) -> Result<String, String> {
    let secret = String::from_utf8(plain).map_err(|_| "the challenge secret is not text")?;
    if secret.len() != 32 || !secret.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("the challenge secret is not 32 hex characters".into());
    }
    Ok(secret)
}

/// The `<ActivateInfo>` body carrying `password` under the challenge `secret`.
pub fn activate_body(secret: &str, password: &str) -> Result<String, String> {
    let key = hex::decode(secret).map_err(|_| "bad challenge secret")?;
    let cipher = aes::Aes128::new_from_slice(&key).map_err(|_| "bad challenge secret length")?;
    let prefix = secret.get(..16).ok_or("short challenge secret")?;
    let mut data = format!("{prefix}{password}").into_bytes();
    data.resize(data.len().div_ceil(16) * 16, 0);
    for block in data.chunks_mut(16) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    let blob = B64.encode(hex::encode(&data));
    data.iter_mut().for_each(|b| *b = 0);
    Ok(format!(
        "<ActivateInfo xmlns=\"http://www.isapi.org/ver20/XMLSchema\" version=\"2.0\"><password>{blob}</password></ActivateInfo>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::RsaPublicKey;

    #[test]
    fn the_camera_side_can_read_what_we_send() {
        let key = ChallengeKey::generate().unwrap();
        // Play the camera: rebuild the public key from the request, encrypt a secret.
        let body = key.request_body();
        let doc = crate::xml::parse(&body).unwrap();
        let b64 = crate::xml::find_text(doc.root_element(), "key").unwrap();
        let modulus = hex::decode(B64.decode(b64).unwrap()).unwrap();
        assert_eq!(modulus.len(), 128);
        let public = RsaPublicKey::new(rsa::BigUint::from_bytes_be(&modulus), rsa::BigUint::from(65_537u32)).unwrap();
        let secret = "0123456789abcdef0123456789abcdef";
        let enc = public.encrypt(&mut rand::thread_rng(), Pkcs1v15Encrypt, secret.as_bytes()).unwrap();
        let answer = format!("<Challenge><key>{}</key></Challenge>", B64.encode(hex::encode(enc)));
        assert_eq!(key.secret_from(&answer).unwrap(), secret);
        assert!(key.secret_from("<Challenge><key>!!</key></Challenge>").is_err());
        // The guide's worked example: prefix + password, zero padded, one block per 16 bytes.
        let body = activate_body(secret, "Abc12345").unwrap();
        let doc = crate::xml::parse(&body).unwrap();
        let blob = crate::xml::find_text(doc.root_element(), "password").unwrap();
        let data = hex::decode(B64.decode(blob).unwrap()).unwrap();
        assert_eq!(data.len(), 32);
    }
}
