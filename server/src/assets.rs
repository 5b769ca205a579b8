//! The console's files (`pkg/`: the WASM, its JS and the CSS), made ready once after a
//! release build and served precompressed with long-lived caching.
//!
//! `idflow prepare-assets <pkg>` (run by `make build-release`) gives each of
//! `idflow.js`, `idflow.wasm` and `idflow.css` a copy named after its content
//! (`idflow.<hash>.wasm`), compresses every file with brotli (quality 11) and gzip
//! beside it (`.br`, `.gz`), and writes the names to `hash.txt`, which the pages' script
//! and stylesheet tags read. A name with a content hash never changes what it holds: it
//! is cached for a year. Other files are revalidated on each use (`no-cache`).
//!
//! A build split into lazily loaded parts (`cargo leptos build --split`: the builder is
//! its own WASM file) has more files that name each other: the main JS and every WASM
//! import the split loader (`__wasm_split.<22 placeholder characters>.js`), and the
//! loader imports the main JS and fetches the parts. Those files are named after one
//! hash of them all, so a name still never changes what it holds (see [`split`]).

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
/// The placeholder in the split loader's name, as cargo-leptos writes it.
const PLACEHOLDER: &str = "______________________";
/// What lazy function needs which parts: Leptos reads it to preload them.
const SPLIT_MANIFEST: &str = "__wasm_split_manifest.json";
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
    let split = pkg.join(format!("__wasm_split.{PLACEHOLDER}.js")).exists();
    if split {
        hashes.push_str(&self::split(pkg, output_name)?);
    }
    for (kind, extension) in HASHED {
        if split && kind != "css" {
            continue;
        }
        let plain = pkg.join(format!("{output_name}.{extension}"));
        let bytes =
            std::fs::read(&plain).with_context(|| format!("reading {}", plain.display()))?;
        let hash = hex(&Sha256::digest(&bytes), 16);
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

/// Names the files of a split build after one hash of them all: the main JS and WASM,
/// each part (`split_*.wasm`, `chunk_*.wasm`), the loader and the manifest. The copies
/// have the loader's hashed name in place of its placeholder (the same length, so the
/// WASM files stay valid), the loader names the hashed main JS and parts, and the
/// manifest the hashed parts. Gives `hash.txt`'s lines for them.
fn split(pkg: &Path, output_name: &str) -> anyhow::Result<String> {
    use anyhow::Context;
    let read = |name: &str| {
        std::fs::read(pkg.join(name))
            .with_context(|| format!("reading {name} in {}", pkg.display()))
    };
    let loader_name = format!("__wasm_split.{PLACEHOLDER}.js");
    let js_name = format!("{output_name}.js");
    let wasm_name = format!("{output_name}.wasm");
    let mut parts: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(pkg)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".wasm")
            && (stem.starts_with("split_") || stem.starts_with("chunk_"))
            && !hashed(&name)
        {
            parts.push(stem.to_string());
        }
    }
    parts.sort();
    // One hash of everything the build made: the same names always hold the same files.
    let mut digest = Sha256::new();
    let mut originals = Vec::new();
    let names = [
        js_name.clone(),
        wasm_name,
        loader_name.clone(),
        SPLIT_MANIFEST.to_string(),
    ];
    for name in names
        .into_iter()
        .chain(parts.iter().map(|stem| format!("{stem}.wasm")))
    {
        let bytes = read(&name)?;
        digest.update(name.as_bytes());
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(&bytes);
        originals.push((name, bytes));
    }
    let digest = digest.finalize();
    let (tag, long_tag) = (hex(&digest, 16), hex(&digest, PLACEHOLDER.len()));
    let hashed_loader = format!("__wasm_split.{long_tag}.js");
    let with_loader =
        |bytes: &[u8]| replace_bytes(bytes, loader_name.as_bytes(), hashed_loader.as_bytes());
    for (name, bytes) in &originals {
        let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
        let written = if *name == loader_name {
            let mut text =
                String::from_utf8(bytes.clone()).context("the split loader is not UTF-8")?;
            text = text.replace(
                &format!("\"./{js_name}\""),
                &format!("\"./{output_name}.{tag}.js\""),
            );
            for stem in &parts {
                text = text.replace(
                    &format!("\"./{stem}.wasm\""),
                    &format!("\"./{stem}.{tag}.wasm\""),
                );
            }
            (hashed_loader.clone(), with_loader(text.as_bytes()))
        } else if name == SPLIT_MANIFEST {
            let mut manifest: std::collections::BTreeMap<String, Vec<String>> =
                serde_json::from_slice(bytes).context("reading the split manifest")?;
            for files in manifest.values_mut() {
                for file in files.iter_mut() {
                    *file = format!("{file}.{tag}");
                }
            }
            (
                format!("__wasm_split_manifest.{tag}.json"),
                serde_json::to_vec(&manifest)?,
            )
        } else {
            (format!("{stem}.{tag}.{extension}"), with_loader(bytes))
        };
        std::fs::write(pkg.join(&written.0), written.1)?;
    }
    Ok(format!(
        "js: {tag}\nwasm: {tag}\nsplit: {long_tag}\nmanifest: {tag}\n"
    ))
}

/// The first `chars` hexadecimal characters of `digest`.
fn hex(digest: &[u8], chars: usize) -> String {
    let mut text: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    text.truncate(chars);
    text
}

/// `bytes` with every `from` replaced by `to` (of the same length).
fn replace_bytes(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    debug_assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut at = 0;
    while let Some(found) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + found..at + found + from.len()].copy_from_slice(to);
        at += found + from.len();
    }
    out
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

/// Whether a file name carries a content hash (`idflow.0123456789abcdef.wasm`, or the
/// split loader's 22 characters).
pub fn hashed(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|p| {
            (p.len() == 16 || p.len() == PLACEHOLDER.len())
                && p.bytes().all(|b| b.is_ascii_hexdigit())
        })
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

    #[test]
    fn a_split_build_is_named_after_one_hash_and_its_files_name_each_other_so() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path();
        let loader = format!("__wasm_split.{PLACEHOLDER}.js");
        let write = |name: &str, text: String| std::fs::write(pkg.join(name), text).unwrap();
        write(
            "idflow.js",
            format!("import * as s from './{loader}';\nimports['./{loader}'] = s;\n"),
        );
        write(
            "idflow.wasm",
            format!("\0asm main imports ./{loader} {}", "w".repeat(2000)),
        );
        write(
            "split_builder.wasm",
            format!("\0asm builder imports ./{loader}"),
        );
        write("chunk_0.wasm", "\0asm shared".into());
        write(
            &loader,
            "import { initSync } from \"./idflow.js\";\n\
             const a = fetch(new URL(\"./chunk_0.wasm\", import.meta.url));\n\
             const b = fetch(new URL(\"./split_builder.wasm\", import.meta.url));\n"
                .into(),
        );
        write(
            SPLIT_MANIFEST,
            r#"{"builder": ["chunk_0", "split_builder"]}"#.into(),
        );
        write("idflow.css", "body{}".into());
        prepare(pkg, "idflow").unwrap();
        let hashes = std::fs::read_to_string(pkg.join(HASH_FILE)).unwrap();
        let line = |kind: &str| {
            hashes
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{kind}: ")))
                .unwrap_or_else(|| panic!("no {kind} in {hashes}"))
                .to_string()
        };
        let (tag, long) = (line("js"), line("split"));
        assert_eq!(line("wasm"), tag);
        assert_eq!(line("manifest"), tag);
        assert_eq!(long.len(), PLACEHOLDER.len());
        assert!(long.starts_with(&tag));
        let read = |name: String| std::fs::read_to_string(pkg.join(name)).unwrap();
        let hashed_loader = format!("__wasm_split.{long}.js");
        assert!(hashed(&hashed_loader));
        // The main JS and every WASM import the hashed loader, under the same name length.
        let js = read(format!("idflow.{tag}.js"));
        assert!(
            !js.contains(PLACEHOLDER) && js.matches(&hashed_loader).count() == 2,
            "{js}"
        );
        let wasm = read(format!("idflow.{tag}.wasm"));
        assert_eq!(wasm.len(), read("idflow.wasm".into()).len());
        assert!(wasm.contains(&hashed_loader));
        assert!(read(format!("split_builder.{tag}.wasm")).contains(&hashed_loader));
        // The loader imports the hashed JS and fetches the hashed parts.
        let loaded = read(hashed_loader.clone());
        assert!(
            loaded.contains(&format!("\"./idflow.{tag}.js\"")),
            "{loaded}"
        );
        assert!(loaded.contains(&format!("\"./chunk_0.{tag}.wasm\"")));
        assert!(loaded.contains(&format!("\"./split_builder.{tag}.wasm\"")));
        let manifest: serde_json::Value =
            serde_json::from_str(&read(format!("__wasm_split_manifest.{tag}.json"))).unwrap();
        assert_eq!(
            manifest,
            serde_json::json!({"builder": [format!("chunk_0.{tag}"), format!("split_builder.{tag}")]})
        );
        // The stylesheet keeps a hash of its own content.
        assert_ne!(line("css"), tag);
        // Again: the same names. A changed part changes every name.
        prepare(pkg, "idflow").unwrap();
        assert_eq!(
            std::fs::read_to_string(pkg.join(HASH_FILE)).unwrap(),
            hashes
        );
        write("chunk_0.wasm", "\0asm shared, changed".into());
        prepare(pkg, "idflow").unwrap();
        let again = std::fs::read_to_string(pkg.join(HASH_FILE)).unwrap();
        assert!(!again.contains(&tag));
        assert!(
            !pkg.join(format!("idflow.{tag}.js")).exists(),
            "the old copies go"
        );
    }
}
