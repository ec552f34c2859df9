//! The device side of Hikvision activation (protocols.md §2.6): the client sends an
//! RSA public modulus, the camera answers with a random 32-hex-character secret
//! encrypted to it, and the client sends the new password AES-128-ECB-encrypted under
//! that secret, prefixed by the secret's first 16 characters.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, KeyInit};
use base64::Engine;
use rand::Rng;
use rsa::{BigUint, Pkcs1v15Encrypt, RsaPublicKey};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ActivationError {
    #[error("the key is not Base64 of a hex RSA modulus")]
    BadKey,
    #[error("RSA encryption failed")]
    Rsa,
    #[error("the password blob is not Base64 of hex AES blocks")]
    BadBlob,
    #[error("no challenge was issued")]
    NoChallenge,
    #[error("the decrypted password does not carry the challenge prefix")]
    PrefixMismatch,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Make a challenge for the client's Base64(hex(modulus)): returns the secret to keep
/// and the `<key>` value to send back.
pub fn challenge(client_key_b64: &str) -> Result<(String, String), ActivationError> {
    let hex_modulus = B64.decode(client_key_b64.trim()).map_err(|_| ActivationError::BadKey)?;
    let hex_modulus = String::from_utf8(hex_modulus).map_err(|_| ActivationError::BadKey)?;
    let modulus = hex::decode(hex_modulus.trim()).map_err(|_| ActivationError::BadKey)?;
    if modulus.len() < 64 {
        return Err(ActivationError::BadKey);
    }
    let key = RsaPublicKey::new(BigUint::from_bytes_be(&modulus), BigUint::from(65_537u32))
        .map_err(|_| ActivationError::BadKey)?;
    let secret: String = {
        let mut rng = rand::thread_rng();
        (0..32).filter_map(|_| char::from_digit(rng.gen_range(0..16), 16)).collect()
    };
    let encrypted =
        key.encrypt(&mut rand::thread_rng(), Pkcs1v15Encrypt, secret.as_bytes()).map_err(|_| ActivationError::Rsa)?;
    Ok((secret, B64.encode(hex::encode(encrypted))))
}

/// Recover the password from the `<password>` of `ActivateInfo`.
pub fn decrypt_password(secret: &str, blob_b64: &str) -> Result<String, ActivationError> {
    let hex_text = B64.decode(blob_b64.trim()).map_err(|_| ActivationError::BadBlob)?;
    let hex_text = String::from_utf8(hex_text).map_err(|_| ActivationError::BadBlob)?;
    let mut data = hex::decode(hex_text.trim()).map_err(|_| ActivationError::BadBlob)?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(ActivationError::BadBlob);
    }
    let key = hex::decode(secret).map_err(|_| ActivationError::NoChallenge)?;
    let cipher = aes::Aes128::new_from_slice(&key).map_err(|_| ActivationError::NoChallenge)?;
    // ECB is what the protocol uses: each 16-byte block on its own.
    for block in data.chunks_mut(16) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
    while data.last() == Some(&0) {
        data.pop();
    }
    let text = String::from_utf8(data).map_err(|_| ActivationError::BadBlob)?;
    let prefix = secret.get(..16).ok_or(ActivationError::NoChallenge)?;
    text.strip_prefix(prefix).map(str::to_string).ok_or(ActivationError::PrefixMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncrypt;
    use rsa::traits::PublicKeyParts;
    use rsa::RsaPrivateKey;

    /// The client side, written from the guide, to check the device side end to end.
    fn client_encrypt(secret: &str, password: &str) -> String {
        let key = hex::decode(secret).unwrap();
        let cipher = aes::Aes128::new_from_slice(&key).unwrap();
        let mut data = format!("{}{}", &secret[..16], password).into_bytes();
        while data.len() % 16 != 0 {
            data.push(0);
        }
        for block in data.chunks_mut(16) {
            cipher.encrypt_block(GenericArray::from_mut_slice(block));
        }
        B64.encode(hex::encode(data))
    }

    #[test]
    fn activation_round_trip_recovers_the_password() {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let modulus_hex = hex::encode(private.n().to_bytes_be());
        let (secret, answer) = challenge(&B64.encode(modulus_hex)).unwrap();
        let encrypted = hex::decode(String::from_utf8(B64.decode(answer).unwrap()).unwrap()).unwrap();
        let decrypted = private.decrypt(Pkcs1v15Encrypt, &encrypted).unwrap();
        assert_eq!(String::from_utf8(decrypted).unwrap(), secret);
        let blob = client_encrypt(&secret, "Abc12345xyz!");
        assert_eq!(decrypt_password(&secret, &blob).unwrap(), "Abc12345xyz!");
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert_eq!(challenge("!!!").unwrap_err(), ActivationError::BadKey);
        assert_eq!(challenge(&B64.encode("abcd")).unwrap_err(), ActivationError::BadKey);
        let secret = "00112233445566778899aabbccddeeff";
        assert_eq!(decrypt_password(secret, "???").unwrap_err(), ActivationError::BadBlob);
        assert_eq!(decrypt_password(secret, &B64.encode("abcd")).unwrap_err(), ActivationError::BadBlob);
        let wrong = client_encrypt("ffeeddccbbaa99887766554433221100", "Abc12345");
        assert!(decrypt_password(secret, &wrong).is_err());
    }
}
