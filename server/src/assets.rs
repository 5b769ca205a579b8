//! The console's files (`pkg/`: the WASM, its JS and the CSS), made ready once after a
//! release build and served precompressed with long-lived caching.
//!
//! `idflow prepare-assets <pkg>` (run by `make build-release`) gives each of
//! `idflow.js`, `idflow.wasm` and `idflow.css` a copy named after its content
//! (`idflow.<hash>.wasm`), compresses every file with brotli (quality 11) and gzip
//! beside it (`.br`, `.gz`), and writes the names to `hash.txt`, which the pages' script
//! and stylesheet tags read. A name with a content hash never changes what it holds: it
//! is cached for a year. Other files are revalidated on each use (`no-cache`).

use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The files that get a hashed copy, by the kind `hash.txt` names them with.
const HASHED: [(&str, &str); 3] = [("js", "js"), ("wasm", "wasm"), ("css", "css")];
/// The file naming the hashed copies, in `pkg/`.
pub const HASH_FILE: &str = "hash.txt";
/// Files smaller than this are not worth compressing.
const SMALL: u64 = 1024;

/// What [`prepare`] made.
#[derive(Debug, Default)]
pub struct Prepared {
    /// `(name, raw bytes, brotli bytes, gzip bytes)` of each file compressed.
    pub files: Vec<(String, u64, u64, u64)>,
}

/// Makes the hashed copies, the compressed files and `hash.txt` in `pkg` (see the
/// module's documentation), replacing those an earlier build left.
pub fn prepare(pkg: &Path, output_name: &str) -> anyhow::Result<Prepared> {
    use anyhow::Context;
    // What an earlier run made goes first: old hashed copies and compressed files.
    for entry in std::fs::read_dir(pkg).with_context(|| format!("reading {}", pkg.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".br") || name.ends_with(".gz") || hashed(name) {
            std::fs::remove_file(&path)?;
        }
    }
    let mut hashes = String::new();
    for (kind, extension) in HASHED {
        let plain = pkg.join(format!("{output_name}.{extension}"));
        let bytes =
            std::fs::read(&plain).with_context(|| format!("reading {}", plain.display()))?;
        let digest = Sha256::digest(&bytes);
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            pkg.join(format!("{output_name}.{hash}.{extension}")),
            &bytes,
        )?;
        hashes.push_str(&format!("{kind}: {hash}\n"));
    }
    std::fs::write(pkg.join(HASH_FILE), hashes)?;
    let mut prepared = Prepared::default();
    for path in files_under(pkg)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name == HASH_FILE || std::fs::metadata(&path)?.len() < SMALL {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let br = brotli_bytes(&bytes)?;
        let gz = gzip_bytes(&bytes)?;
        std::fs::write(with_suffix(&path, "br"), &br)?;
        std::fs::write(with_suffix(&path, "gz"), &gz)?;
        let shown = path
            .strip_prefix(pkg)
            .unwrap_or(&path)
            .display()
            .to_string();
        prepared
            .files
            .push((shown, bytes.len() as u64, br.len() as u64, gz.len() as u64));
    }
    Ok(prepared)
}

/// Every file under `dir` (wasm-bindgen's snippets live in sub-folders), but the
/// compressed ones.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(files_under(&path)?);
        } else if !path.extension().is_some_and(|e| e == "br" || e == "gz") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

fn brotli_bytes(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes)?;
    }
    Ok(out)
}

fn gzip_bytes(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Whether a file name carries a content hash (`idflow.0123456789abcdef.wasm`).
pub fn hashed(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `hash.txt` in the built console's `pkg/`, when a release build made it after the
/// files it names were last built (a later debug build leaves it out of date: then the
/// files are served under their own names).
pub fn hash_file(site_dir: &Path) -> Option<PathBuf> {
    let pkg = site_dir.join("pkg");
    let path = pkg.join(HASH_FILE);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let made = modified(&path)?;
    let current = HASHED.iter().all(|(_, extension)| {
        modified(&pkg.join(format!("idflow.{extension}"))).is_some_and(|built| built <= made)
    });
    current.then(|| std::path::absolute(&path).unwrap_or(path))
}

/// The console's files: precompressed copies when the browser takes them, cached for a
/// year under hashed names and revalidated otherwise. The copies are used only while
/// they are current (see [`hash_file`]): after a later debug build the files themselves
/// are served (and compressed as they go, like any answer).
pub fn service(site_dir: &Path) -> axum::Router {
    let files = tower_http::services::ServeDir::new(site_dir.join("pkg"));
    let files = if hash_file(site_dir).is_some() {
        files.precompressed_br().precompressed_gzip()
    } else {
        files
    };
    axum::Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(cache_control))
}

async fn cache_control(request: Request<Body>, next: Next) -> Response {
    let name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if hashed(&name) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_told_apart() {
        assert!(hashed("idflow.0123456789abcdef.wasm"));
        assert!(hashed("idflow.0123456789abcdef.wasm.br"));
        assert!(!hashed("idflow.wasm"));
        assert!(!hashed("idflow.css"));
        assert!(!hashed("idflow.0123.js"));
    }

    #[test]
    fn prepare_makes_hashed_copies_compressed_files_and_the_hash_file() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path();
        let wasm = "wasm ".repeat(1000);
        std::fs::write(pkg.join("idflow.wasm"), &wasm).unwrap();
        std::fs::write(pkg.join("idflow.js"), "js ".repeat(1000)).unwrap();
        std::fs::write(pkg.join("idflow.css"), "body{}").unwrap();
        std::fs::write(pkg.join("idflow.ffffffffffffffff.wasm"), "an old build").unwrap();
        let prepared = prepare(pkg, "idflow").unwrap();
        let hashes = std::fs::read_to_string(pkg.join(HASH_FILE)).unwrap();
        let hash = |kind: &str| {
            hashes
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{kind}: ")))
                .unwrap()
                .to_string()
        };
        let copy = pkg.join(format!("idflow.{}.wasm", hash("wasm")));
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), wasm);
        assert!(!pkg.join("idflow.ffffffffffffffff.wasm").exists());
        // Each big file is compressed both ways and reads back whole; the small CSS not.
        let br = std::fs::read(with_suffix(&copy, "br")).unwrap();
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut br.as_slice(), &mut back).unwrap();
        assert_eq!(back, wasm.as_bytes());
        let gz = std::fs::read(pkg.join("idflow.wasm.gz")).unwrap();
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut back)
            .unwrap();
        assert_eq!(back, wasm);
        assert!(!pkg.join("idflow.css.br").exists());
        assert_eq!(prepared.files.len(), 4, "{:?}", prepared.files);
        // Again: the same names, nothing left over.
        prepare(pkg, "idflow").unwrap();
        assert_eq!(
            std::fs::read_to_string(pkg.join(HASH_FILE)).unwrap(),
            hashes
        );
        assert_eq!(std::fs::read_dir(pkg).unwrap().count(), 3 + 3 + 4 * 2 + 1);
        // The server reads the hash file while it is newer than the files; a build after
        // it makes it out of date.
        let root = tempfile::tempdir().unwrap();
        let pkg = root.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        for name in ["idflow.wasm", "idflow.js", "idflow.css"] {
            std::fs::write(pkg.join(name), "x").unwrap();
        }
        assert_eq!(hash_file(root.path()), None);
        prepare(&pkg, "idflow").unwrap();
        assert!(hash_file(root.path()).is_some_and(|p| p.is_absolute()));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(pkg.join("idflow.js"), "rebuilt").unwrap();
        assert_eq!(hash_file(root.path()), None);
    }
}
