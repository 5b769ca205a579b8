//! Secrets sealed at rest: a connection's password or token is kept in the database only
//! as XChaCha20-Poly1305 ciphertext under a key that never lives in the database (from
//! `IDFLOW_SECRET_KEY`, or a key file made at first start in the data folder).
//!
//! Each sealed value is bound to where it is kept (its table, row and field, as the
//! cipher's associated data), so a value copied to another row does not open there. A
//! sealed value names the key it was sealed under (the first bytes of the key's SHA-256),
//! so a value sealed under another key is refused with that reason rather than as
//! tampering.
//!
//! Text form: `v1.<key id, 8 hex>.<nonce and ciphertext, hex>`.
//!
//! `idflow admin rotate-key` re-seals everything under a new key in one transaction. With
//! the key file, the new key is first written beside it as `secret.key.<id>.pending`;
//! a key loaded from the folder also opens (never seals) with any pending key, so a
//! rotation cut short after its transaction still opens every value; once done, the old
//! key is kept as `secret.key.<id>.retired` for backups made before.

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The environment variable that holds the key (64 hex characters), when it is not in
/// the key file.
pub const KEY_VARIABLE: &str = "IDFLOW_SECRET_KEY";
/// The key file's name in the data folder.
pub const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;
const VERSION: &str = "v1";

/// Why a key could not be had, or a sealed value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{KEY_VARIABLE} must be 64 hex characters (32 bytes), for example from `openssl rand -hex 32`"
    )]
    BadKey,
    #[error("the key file {path} could not be {doing}: {source}")]
    KeyFile {
        path: PathBuf,
        doing: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the key file {0} does not hold a key (64 hex characters)")]
    BadKeyFile(PathBuf),
    #[error(
        "this secret was sealed under another key ({0}); start idflow with the key it was sealed under, or enter the secret again"
    )]
    OtherKey(String),
    #[error("this secret is damaged or does not belong here, and cannot be opened; enter it again")]
    Damaged,
}

/// The key secrets are sealed under.
#[derive(Clone)]
pub struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
    /// Other keys values may be sealed under (a rotation's pending key): they open, never seal.
    openers: Vec<(String, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> SecretKey {
        SecretKey::from_bytes(&Key::generate())
    }

    /// A new random key, and its text form for a key file or `IDFLOW_SECRET_KEY`.
    pub fn generate_with_text() -> (SecretKey, SecretString) {
        let key = Key::generate();
        (
            SecretKey::from_bytes(&key),
            SecretString::from(SecretKey::to_hex(&key)),
        )
    }

    fn from_bytes(bytes: &Key) -> SecretKey {
        let id = hex::encode(&Sha256::digest(bytes.as_slice())[..4]);
        SecretKey {
            id,
            cipher: XChaCha20Poly1305::new(bytes),
            openers: Vec::new(),
        }
    }

    /// This key, also opening what `other` sealed.
    pub fn also_opening(mut self, other: &SecretKey) -> SecretKey {
        if other.id != self.id && !self.openers.iter().any(|(id, _)| *id == other.id) {
            self.openers.push((other.id.clone(), other.cipher.clone()));
        }
        self
    }

    /// The key written as 64 hex characters (`IDFLOW_SECRET_KEY`'s form).
    pub fn from_hex(text: &str) -> Result<SecretKey, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadKey)?;
        let key = Key::try_from(bytes.as_slice()).map_err(|_| SecretError::BadKey)?;
        Ok(SecretKey::from_bytes(&key))
    }

    /// The key idflow runs with: `IDFLOW_SECRET_KEY` when set, else the key file in
    /// `data_dir`, made (readable by this user only) when there is none yet.
    pub fn load(
        from_env: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<SecretKey, SecretError> {
        if let Some(text) = from_env.filter(|t| !t.expose_secret().trim().is_empty()) {
            return SecretKey::from_hex(text.expose_secret());
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut key = SecretKey::from_hex(&text)
                    .map_err(|_| SecretError::BadKeyFile(path.clone()))?;
                for (pending, file) in pending_keys(data_dir) {
                    tracing::warn!(file = %file.display(), "a key rotation was cut short: secrets sealed under its new key still open; run `idflow admin rotate-key` again to finish it");
                    key = key.also_opening(&pending);
                }
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Key::generate();
                write_key_file(&path, &key)?;
                tracing::info!(path = %path.display(), "made a new key for secrets at rest; back it up with the database");
                Ok(SecretKey::from_bytes(&key))
            }
            Err(source) => Err(SecretError::KeyFile {
                path,
                doing: "read",
                source,
            }),
        }
    }

    /// What names this key in sealed values and messages (not secret).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `plain` sealed for the place `bound_to` names (`"connections/<id>/password"`).
    pub fn seal(&self, plain: &str, bound_to: &str) -> String {
        let nonce = XNonce::generate();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: bound_to.as_bytes(),
                },
            )
            .expect("sealing a value in memory cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.id, hex::encode(blob))
    }

    /// The value `sealed` holds, if it was sealed under this key for `bound_to`.
    pub fn open(&self, sealed: &str, bound_to: &str) -> Result<SecretString, SecretError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(blob)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Damaged);
        };
        let cipher = if key_id == self.id {
            &self.cipher
        } else {
            match self.openers.iter().find(|(id, _)| id == key_id) {
                Some((_, cipher)) => cipher,
                None => return Err(SecretError::OtherKey(key_id.to_string())),
            }
        };
        let blob = hex::decode(blob).map_err(|_| SecretError::Damaged)?;
        if blob.len() < NONCE_LEN {
            return Err(SecretError::Damaged);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::Damaged)?;
        let plain = cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretError::Damaged)
    }

    /// The key in the form `from_hex` reads, for a key file or `IDFLOW_SECRET_KEY`.
    fn to_hex(key: &Key) -> String {
        hex::encode(key.as_slice())
    }
}

/// The pending keys of a rotation cut short in `data_dir`, with their files.
fn pending_keys(data_dir: &Path) -> Vec<(SecretKey, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{KEY_FILE}.")) && n.ends_with(".pending"))
        })
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((SecretKey::from_hex(&text).ok()?, p))
        })
        .collect()
}

/// The steps of a rotation of the key file in `data_dir`: [`KeyFileRotation::begin`]
/// writes the new key as pending (before anything is sealed under it), `finish` makes
/// it the key file once everything is, keeping the old one as retired.
pub struct KeyFileRotation {
    data_dir: PathBuf,
    pending: PathBuf,
    pub new_key: SecretKey,
}

impl KeyFileRotation {
    pub fn begin(data_dir: &Path) -> Result<KeyFileRotation, SecretError> {
        let key = Key::generate();
        let new_key = SecretKey::from_bytes(&key);
        let pending = data_dir.join(format!("{KEY_FILE}.{}.pending", new_key.id));
        write_key_file(&pending, &key)?;
        Ok(KeyFileRotation {
            data_dir: data_dir.to_path_buf(),
            pending,
            new_key,
        })
    }

    /// Makes the new key the key file; the old one (`old_id`) becomes
    /// `secret.key.<old_id>.retired`, and pending keys of earlier rotations cut short are
    /// removed (nothing is sealed under them any more). The retired key's path.
    pub fn finish(self, old_id: &str) -> Result<PathBuf, SecretError> {
        let current = self.data_dir.join(KEY_FILE);
        let retired = self.data_dir.join(format!("{KEY_FILE}.{old_id}.retired"));
        let failed = |path: &Path, source| SecretError::KeyFile {
            path: path.to_path_buf(),
            doing: "renamed",
            source,
        };
        std::fs::rename(&current, &retired).map_err(|e| failed(&current, e))?;
        std::fs::rename(&self.pending, &current).map_err(|e| failed(&self.pending, e))?;
        for (_, stale) in pending_keys(&self.data_dir) {
            let _ = std::fs::remove_file(stale);
        }
        Ok(retired)
    }
}

/// Writes a new key file that only this user may read; never overwrites one.
fn write_key_file(path: &Path, key: &Key) -> Result<(), SecretError> {
    use std::io::Write;
    let failed = |doing, source| SecretError::KeyFile {
        path: path.to_path_buf(),
        doing,
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| failed("created", e))?;
    writeln!(file, "{}", SecretKey::to_hex(key))
        .and_then(|_| file.sync_all())
        .map_err(|e| failed("written", e))
}

/// Where a sealed value is kept, as it is bound: `table/row/field`.
pub fn place(table: &str, row: impl std::fmt::Display, field: &str) -> String {
    format!("{table}/{row}/{field}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_where_it_was_sealed_and_under_its_key() {
        let key = SecretKey::generate();
        let sealed = key.seal("hunter2", "connections/1/password");
        assert!(!sealed.contains("hunter2"));
        assert!(sealed.starts_with(&format!("v1.{}.", key.id())));
        assert_eq!(
            key.open(&sealed, "connections/1/password")
                .unwrap()
                .expose_secret(),
            "hunter2"
        );
        // Copied to another row or field: refused.
        assert!(matches!(
            key.open(&sealed, "connections/2/password"),
            Err(SecretError::Damaged)
        ));
        // Under another key: named as such.
        let other = SecretKey::generate();
        assert!(matches!(
            other.open(&sealed, "connections/1/password"),
            Err(SecretError::OtherKey(id)) if id == key.id()
        ));
        // Tampered with: refused.
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(key.open(&tampered, "connections/1/password").is_err());
        assert!(key.open("plain text", "connections/1/password").is_err());
    }

    #[test]
    fn each_sealing_differs() {
        let key = SecretKey::generate();
        assert_ne!(key.seal("same", "t/1/f"), key.seal("same", "t/1/f"));
    }

    #[test]
    fn the_key_comes_from_the_environment_or_a_private_file_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let made = SecretKey::load(None, dir.path()).unwrap();
        let file = dir.path().join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = SecretKey::load(None, dir.path()).unwrap();
        assert_eq!(made.id(), again.id(), "the file is read, not made again");
        let sealed = made.seal("s", "t/1/f");
        assert_eq!(again.open(&sealed, "t/1/f").unwrap().expose_secret(), "s");

        let text = SecretString::from("00".repeat(32));
        let from_env = SecretKey::load(Some(&text), dir.path()).unwrap();
        assert_ne!(from_env.id(), made.id());
        assert!(matches!(
            SecretKey::load(Some(&SecretString::from("not hex")), dir.path()),
            Err(SecretError::BadKey)
        ));
        std::fs::write(&file, "garbage").unwrap();
        assert!(matches!(
            SecretKey::load(None, dir.path()),
            Err(SecretError::BadKeyFile(_))
        ));
    }

    #[test]
    fn a_rotation_cut_short_still_opens_and_a_finished_one_retires_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let old = SecretKey::load(None, dir.path()).unwrap();
        let rotation = KeyFileRotation::begin(dir.path()).unwrap();
        let sealed_new = rotation.new_key.seal("new", "t/1/f");
        let sealed_old = old.seal("old", "t/2/f");
        // Cut short here: the key file is still the old key, and opens both.
        let loaded = SecretKey::load(None, dir.path()).unwrap();
        assert_eq!(loaded.id(), old.id(), "it still seals under the old key");
        assert_eq!(
            loaded.open(&sealed_new, "t/1/f").unwrap().expose_secret(),
            "new"
        );
        assert_eq!(
            loaded.open(&sealed_old, "t/2/f").unwrap().expose_secret(),
            "old"
        );
        // Finished: the new key is the file; the old one is kept, retired.
        let new_id = rotation.new_key.id().to_string();
        let retired = rotation.finish(old.id()).unwrap();
        assert!(retired.ends_with(format!("secret.key.{}.retired", old.id())));
        let loaded = SecretKey::load(None, dir.path()).unwrap();
        assert_eq!(loaded.id(), new_id);
        assert!(matches!(
            loaded.open(&sealed_old, "t/2/f"),
            Err(SecretError::OtherKey(id)) if id == old.id()
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
