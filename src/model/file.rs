//! The model file format.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "DOCCLASS"
//! 8       4     format version, u32 little-endian
//! 12      8     payload length in bytes, u64 little-endian
//! 20      32    SHA-256 of the payload
//! 52      n     payload: postcard encoding of ModelData
//! ```
//!
//! Loading checks each field in that order, so a damaged file is reported as
//! what it is: not a model, a newer format, truncated, or corrupt.
use super::{Model, ModelData, ModelError, Result};
use crate::hash::hex;
use crate::parallel::Threads;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"DOCCLASS";
/// The format this build writes. Version 5 added the analyzer filter that
/// removes invisible format characters (`FilterConfig::StripInvisible`,
/// which a version-4 reader could not decode), version 4 per-topic
/// calibration and the semi-supervised record to the provenance, version 3
/// named evaluations, version 2 the probability temperature; older files
/// still load and classify as before (their filter chains keep invisible
/// characters, no per-topic calibration, no evaluations, and temperature 1
/// for version 1).
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 32;
/// Bytes [`Model::load_cancellable`] reads between two checks for
/// cancellation: a few milliseconds of reading and hashing.
pub const READ_CHUNK: usize = 4 << 20;

/// One version of a file on disk: its device and inode (a file renamed over
/// the path is another file), its length and its modification time (a file
/// rewritten in place). Two loads of the same stamp read the same bytes,
/// unless a writer kept both the length and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    pub fn of(metadata: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        FileStamp {
            device,
            inode,
            len: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }

    /// The stamp of the file at `path` now (symlinks followed).
    pub fn of_path(path: &Path) -> std::io::Result<FileStamp> {
        std::fs::metadata(path).map(|m| FileStamp::of(&m))
    }
}

/// The model version: the first 8 bytes of the payload's SHA-256, in hex.
/// Hashes the encoding as it is produced, without building the payload.
///
/// Encoding `ModelData` cannot fail: hashing never runs out of room, and
/// every field is a plain serde type postcard supports. Should a future
/// field break that, the version says so, and saving reports the encoding
/// error itself.
pub(super) fn version_of(data: &ModelData) -> String {
    let mut hasher = Sha256::new();
    let hashed = encode_into(data, &mut |mut chunk| {
        hasher.update(&chunk);
        chunk.clear();
        Ok(chunk)
    });
    match hashed {
        Ok(()) => hex(&hasher.finalize()[..8]),
        Err(_) => UNENCODABLE_VERSION.to_string(),
    }
}

/// The version of a model whose data cannot be encoded (see [`version_of`]).
const UNENCODABLE_VERSION: &str = "unencodable";

impl Model {
    /// Encodes the model in the file format.
    /// A model built in memory takes its version from this encoding (or from
    /// [`Model::save`]'s), so saving a freshly trained model hashes it once,
    /// not twice.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let bytes = encode(&self.data)?;
        // No effect on a model read from a file: it keeps the version it was
        // stored with (a format 1 file's differs from this encoding's).
        let _ = self.version.set(hex(&bytes[20..28]));
        Ok(bytes)
    }

    /// Decodes and validates a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let (data, version) = decode(bytes)?;
        model_from(data, version, bytes)
    }

    /// Reads and validates a model file. Checks before reading the payload
    /// that the path is a regular file (a FIFO or device would block or
    /// never end) and that its header is a model's whose length matches the
    /// file's, so a large file that is not a model is refused after 52
    /// bytes, not after reading all of it.
    pub fn load(path: &Path) -> Result<Model> {
        Model::load_cancellable(path, &|| false).map(|(model, _)| model)
    }

    /// [`Model::load`], which also returns the stamp of the file it read,
    /// and gives up with [`ModelError::Cancelled`] when `cancelled()` turns
    /// true: it is asked before the file is opened and after every
    /// [`READ_CHUNK`] bytes read (and hashed), so a load nobody waits for
    /// any more stops within one chunk instead of reading the whole file.
    pub fn load_cancellable(
        path: &Path,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<(Model, FileStamp)> {
        let read_err = |source| ModelError::Read {
            path: path.to_path_buf(),
            source,
        };
        if cancelled() {
            return Err(ModelError::Cancelled);
        }
        // Opened first, without blocking (a FIFO would wait for a writer),
        // and checked on the open handle, so a file renamed over the path
        // meanwhile cannot mix one file's header with another's length.
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let mut file = options.open(path).map_err(read_err)?;
        let metadata = file.metadata().map_err(read_err)?;
        if !metadata.is_file() {
            return Err(ModelError::NotAFile(path.to_path_buf()));
        }
        let stamp = FileStamp::of(&metadata);
        let mut header = Vec::with_capacity(HEADER_LEN);
        std::io::Read::by_ref(&mut file)
            .take(HEADER_LEN as u64)
            .read_to_end(&mut header)
            .map_err(read_err)?;
        check_header(&header, metadata.len())?;
        // The length is the file's; the read itself stops at the real end.
        let mut bytes = header;
        let rest = usize::try_from(metadata.len())
            .unwrap_or(usize::MAX)
            .saturating_sub(HEADER_LEN);
        bytes.try_reserve_exact(rest).map_err(|e| {
            read_err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!("cannot hold a {}-byte model: {e}", metadata.len()),
            ))
        })?;
        // The payload is hashed as it arrives: one pass over the bytes, and
        // a cancellation point between chunks.
        let mut hasher = Sha256::new();
        loop {
            if cancelled() {
                return Err(ModelError::Cancelled);
            }
            let start = bytes.len();
            let read = std::io::Read::by_ref(&mut file)
                .take(READ_CHUNK as u64)
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
            hasher.update(&bytes[start..]);
            if read == 0 {
                break;
            }
        }
        // Checked again against what was read: the file may have changed length.
        let version = check_header(&bytes, bytes.len() as u64)?;
        if hasher.finalize().as_slice() != &bytes[20..52] {
            return Err(ModelError::ChecksumMismatch);
        }
        let data = decode_payload(version, &bytes[HEADER_LEN..])?;
        Ok((model_from(data, version, &bytes)?, stamp))
    }

    /// Writes the model atomically: a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`. A reader never sees a
    /// half-written file, and a failed write leaves `path` as it was.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, Threads::ONE)
    }

    /// [`Model::save`], with the encoding hashed and written chunk by chunk
    /// as it is produced, so the file's bytes are never all in memory. With
    /// more than one thread, a second thread hashes and writes the chunks
    /// while this one encodes the next (a large model spends about as long
    /// in SHA-256 and the write as in encoding). The file is the same.
    pub fn save_with(&self, path: &Path, threads: Threads) -> Result<()> {
        let digest = write_atomically(path, |file| {
            // The header's place: its length and checksum are known last.
            file.write_all(&[0; HEADER_LEN])?;
            let beside_writer = match threads.get() {
                1 => None,
                _ => encode_beside_writer(&self.data, file)?,
            };
            let (digest, payload_len) = match beside_writer {
                Some(written) => written,
                None => {
                    let mut sink = ChunkSink::new(file);
                    encode_into(&self.data, &mut |chunk| sink.take(chunk))?;
                    sink.finish()?
                }
            };
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&header(payload_len, &digest))?;
            Ok(digest)
        })?;
        // No effect on a model read from a file (see `to_bytes`).
        let _ = self.version.set(hex(&digest[..8]));
        Ok(())
    }
}

/// Creates a temporary file beside `path`, lets `write` fill it, flushes it
/// to disk and renames it over `path`; on any error removes it and leaves
/// `path` as it was.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::result::Result<T, SaveError>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // Removes the temporary file on any way out but the rename, a panic
    // while encoding included.
    let mut tmp_file = TempFile {
        path: &tmp,
        renamed: false,
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        let written = write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        tmp_file.renamed = true;
        Ok(written)
    })();
    result.map_err(|e| match e {
        SaveError::Io(source) => ModelError::Write {
            path: path.to_path_buf(),
            source,
        },
        SaveError::Encode(e) => ModelError::Encode(e.to_string()),
    })
}

/// A temporary file, removed when this is dropped unless it was renamed.
struct TempFile<'p> {
    path: &'p Path,
    renamed: bool,
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(self.path);
        }
    }
}

/// Why writing a model file stopped: the encoding, or the file.
enum SaveError {
    Encode(postcard::Error),
    Io(std::io::Error),
}

impl From<std::io::Error> for SaveError {
    fn from(e: std::io::Error) -> Self {
        SaveError::Io(e)
    }
}

/// The header of a file whose payload has `payload_len` bytes and SHA-256
/// `digest`.
fn header(payload_len: u64, digest: &[u8; 32]) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&payload_len.to_le_bytes());
    header[20..].copy_from_slice(digest);
    header
}

/// Bytes of encoding handed on at a time when saving.
const SAVE_CHUNK: usize = 1 << 20;

/// Encodes `data`, handing `take` each [`SAVE_CHUNK`] of the encoding as it
/// fills (and the rest at the end); `take` gives back an empty buffer to
/// fill next. An error `take` reports stops the encoding and is returned.
fn encode_into(
    data: &ModelData,
    take: &mut dyn FnMut(Vec<u8>) -> std::io::Result<Vec<u8>>,
) -> std::result::Result<(), SaveError> {
    let mut flavor = ChunkFlavor {
        chunk: Vec::with_capacity(SAVE_CHUNK),
        take,
        failed: None,
    };
    let encoded = postcard::serialize_with_flavor(data, &mut flavor);
    if let Some(e) = flavor.failed.take() {
        return Err(SaveError::Io(e));
    }
    encoded.map_err(SaveError::Encode)?;
    let last = std::mem::take(&mut flavor.chunk);
    if !last.is_empty() {
        (flavor.take)(last)?;
    }
    Ok(())
}

/// A postcard output that hands on its bytes a chunk at a time.
struct ChunkFlavor<'t> {
    chunk: Vec<u8>,
    take: &'t mut dyn FnMut(Vec<u8>) -> std::io::Result<Vec<u8>>,
    /// The error `take` reported; postcard's own error type cannot hold it.
    failed: Option<std::io::Error>,
}

impl postcard::ser_flavors::Flavor for &mut ChunkFlavor<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.try_extend(&[byte])
    }

    fn try_extend(&mut self, mut bytes: &[u8]) -> postcard::Result<()> {
        while !bytes.is_empty() {
            let room = SAVE_CHUNK - self.chunk.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.chunk.extend_from_slice(now);
            bytes = rest;
            if self.chunk.len() == SAVE_CHUNK {
                let full = std::mem::take(&mut self.chunk);
                match (self.take)(full) {
                    Ok(empty) => self.chunk = empty,
                    Err(e) => {
                        self.failed = Some(e);
                        return Err(postcard::Error::SerializeBufferFull);
                    }
                }
            }
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Hashes and writes a payload's chunks, counting its bytes.
struct ChunkSink<'f> {
    file: &'f mut std::fs::File,
    hasher: Sha256,
    len: u64,
}

impl<'f> ChunkSink<'f> {
    fn new(file: &'f mut std::fs::File) -> Self {
        ChunkSink {
            file,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// Hashes and writes `chunk`, giving it back emptied.
    fn take(&mut self, mut chunk: Vec<u8>) -> std::io::Result<Vec<u8>> {
        self.hasher.update(&chunk);
        self.file.write_all(&chunk)?;
        start_writeback(self.file, HEADER_LEN as u64 + self.len, chunk.len());
        self.len += chunk.len() as u64;
        chunk.clear();
        Ok(chunk)
    }

    /// The payload's SHA-256 and length.
    fn finish(self) -> std::io::Result<([u8; 32], u64)> {
        Ok((self.hasher.finalize().into(), self.len))
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to
/// disk now, without waiting: the closing `sync_all` then waits for what is
/// still in flight instead of writing the whole file. Advice only; the sync
/// is what makes the file durable.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is `file`'s, open for the whole call; the call
    // reads no memory of ours and only starts the write-out of pages
    // already written. An error leaves the work to `sync_all`.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &std::fs::File, _offset: u64, _len: usize) {}

/// [`encode_into`] on this thread, with a [`ChunkSink`] on another: chunks
/// go over a short queue, and come back empty to be filled again. `None`,
/// with nothing written, when the writer thread cannot be started.
fn encode_beside_writer(
    data: &ModelData,
    file: &mut std::fs::File,
) -> std::result::Result<Option<([u8; 32], u64)>, SaveError> {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new().spawn_scoped(scope, move || {
            let mut sink = ChunkSink::new(file);
            for chunk in full_rx {
                // On an error the receiver is dropped, which stops the encoder.
                let _ = empty_tx.send(sink.take(chunk)?);
            }
            sink.finish()
        });
        let Ok(writer) = writer else {
            return Ok(None);
        };
        let encoded = encode_into(data, &mut |chunk| {
            full_tx
                .send(chunk)
                .map_err(|_| std::io::Error::other("the model file's writer stopped"))?;
            Ok(empty_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(SAVE_CHUNK)))
        });
        drop(full_tx);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // The writer's own error says more than the encoder's "stopped".
        let written = written?;
        encoded?;
        Ok(Some(written))
    })
}

/// The file's bytes, for callers that want them in memory ([`Model::save`]
/// streams them instead).
fn encode(data: &ModelData) -> Result<Vec<u8>> {
    // The header's place, filled once the payload is there.
    let mut out = vec![0; HEADER_LEN];
    let mut hasher = Sha256::new();
    encode_into(data, &mut |mut chunk| {
        hasher.update(&chunk);
        out.extend_from_slice(&chunk);
        chunk.clear();
        Ok(chunk)
    })
    .map_err(|e| match e {
        SaveError::Encode(e) => ModelError::Encode(e.to_string()),
        SaveError::Io(e) => ModelError::Encode(e.to_string()),
    })?;
    let payload_len = (out.len() - HEADER_LEN) as u64;
    out[..HEADER_LEN].copy_from_slice(&header(payload_len, &hasher.finalize().into()));
    Ok(out)
}

/// Format versions 1 and 2's provenance: no named evaluations.
#[derive(serde::Deserialize)]
struct ProvenanceV2 {
    created_at: String,
    tool_version: String,
    corpus_sha256: String,
    documents: u64,
    topic_documents: Vec<u64>,
    train_options_json: String,
    held_out: Option<super::HeldOutMetrics>,
}

impl From<ProvenanceV2> for super::Provenance {
    fn from(v2: ProvenanceV2) -> super::Provenance {
        ProvenanceV3 {
            created_at: v2.created_at,
            tool_version: v2.tool_version,
            corpus_sha256: v2.corpus_sha256,
            documents: v2.documents,
            topic_documents: v2.topic_documents,
            train_options_json: v2.train_options_json,
            held_out: v2.held_out,
            evaluations: Vec::new(),
        }
        .into()
    }
}

/// Format version 3's provenance: no semi-supervised record.
#[derive(serde::Deserialize)]
struct ProvenanceV3 {
    created_at: String,
    tool_version: String,
    corpus_sha256: String,
    documents: u64,
    topic_documents: Vec<u64>,
    train_options_json: String,
    held_out: Option<super::HeldOutMetrics>,
    evaluations: Vec<super::NamedEvaluation>,
}

impl From<ProvenanceV3> for super::Provenance {
    fn from(v3: ProvenanceV3) -> super::Provenance {
        super::Provenance {
            created_at: v3.created_at,
            tool_version: v3.tool_version,
            corpus_sha256: v3.corpus_sha256,
            documents: v3.documents,
            topic_documents: v3.topic_documents,
            train_options_json: v3.train_options_json,
            held_out: v3.held_out,
            evaluations: v3.evaluations,
            semi_supervised: None,
        }
    }
}

/// Format versions 2 and 3's payload: no per-topic calibration, and the
/// provenance of their version (`P`).
#[derive(serde::Deserialize)]
struct ModelDataV3<P> {
    analyzer: crate::text::AnalyzerConfig,
    features: crate::features::FeatureSpaceData,
    nb: crate::nb::FittedNbData,
    decision: crate::nb::Decision,
    topics: Vec<super::TopicMeta>,
    provenance: P,
    temperature: f64,
}

impl<P: Into<super::Provenance>> From<ModelDataV3<P>> for ModelData {
    fn from(v3: ModelDataV3<P>) -> ModelData {
        ModelData {
            analyzer: v3.analyzer,
            features: v3.features.into(),
            nb: v3.nb.into(),
            decision: v3.decision,
            topics: v3.topics,
            provenance: v3.provenance.into(),
            temperature: v3.temperature,
            per_topic: None,
        }
    }
}

/// Format version 1's payload: version 2's without the temperature.
#[derive(serde::Deserialize)]
struct ModelDataV1 {
    analyzer: crate::text::AnalyzerConfig,
    features: crate::features::FeatureSpaceData,
    nb: crate::nb::FittedNbData,
    decision: crate::nb::Decision,
    topics: Vec<super::TopicMeta>,
    provenance: ProvenanceV2,
}

impl From<ModelDataV1> for ModelData {
    fn from(v1: ModelDataV1) -> ModelData {
        ModelDataV3 {
            analyzer: v1.analyzer,
            features: v1.features,
            nb: v1.nb,
            decision: v1.decision,
            topics: v1.topics,
            provenance: v1.provenance,
            temperature: 1.0,
        }
        .into()
    }
}

fn take_all<'a, T: serde::Deserialize<'a>>(payload: &'a [u8]) -> Result<T> {
    let (data, rest) =
        postcard::take_from_bytes::<T>(payload).map_err(|e| ModelError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ModelError::Decode(format!(
            "{} bytes left after the model data",
            rest.len()
        )));
    }
    Ok(data)
}

/// Checks a file's first bytes (up to [`HEADER_LEN`]) against a file of
/// `file_len` bytes: magic, version, and the payload length the header
/// declares. Returns the format version.
fn check_header(bytes: &[u8], file_len: u64) -> Result<u32> {
    let found = file_len;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        // A prefix of the magic is a truncated model, anything else is not a model.
        if !bytes.is_empty() && MAGIC.starts_with(bytes) {
            return Err(ModelError::Truncated {
                expected: HEADER_LEN as u64,
                found,
            });
        }
        return Err(ModelError::BadMagic {
            expected: "DOCCLASS",
        });
    }
    if bytes.len() < 12 {
        return Err(ModelError::Truncated {
            expected: HEADER_LEN as u64,
            found,
        });
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(ModelError::UnsupportedVersion {
            found: version,
            oldest: OLDEST_READABLE_VERSION,
            newest: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(ModelError::Truncated {
            expected: HEADER_LEN as u64,
            found,
        });
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[12..20]);
    let payload_len = u64::from_le_bytes(len_bytes);
    let expected = (HEADER_LEN as u64).saturating_add(payload_len);
    if found < expected {
        return Err(ModelError::Truncated { expected, found });
    }
    if found > expected {
        return Err(ModelError::TrailingBytes(found - expected));
    }
    Ok(version)
}

/// Decodes a model file into its data and format version.
fn decode(bytes: &[u8]) -> Result<(ModelData, u32)> {
    let version = check_header(bytes, bytes.len() as u64)?;
    let payload = &bytes[HEADER_LEN..];
    if Sha256::digest(payload).as_slice() != &bytes[20..52] {
        return Err(ModelError::ChecksumMismatch);
    }
    Ok((decode_payload(version, payload)?, version))
}

/// Decodes a checked payload of format `version`.
fn decode_payload(version: u32, payload: &[u8]) -> Result<ModelData> {
    Ok(match version {
        1 => take_all::<ModelDataV1>(payload)?.into(),
        2 => take_all::<ModelDataV3<ProvenanceV2>>(payload)?.into(),
        3 => take_all::<ModelDataV3<ProvenanceV3>>(payload)?.into(),
        // Format 5's data is format 4's; only its analyzer may hold
        // `StripInvisible`, which older files' chains never do.
        _ => take_all::<ModelData>(payload)?,
    })
}

/// The model of decoded `data`, read from a file of format `version` whose
/// checked bytes are `bytes`.
fn model_from(data: ModelData, version: u32, bytes: &[u8]) -> Result<Model> {
    // The version is the hash of the payload as stored: a file keeps its
    // version when a newer build reads it.
    let mut model = Model::from_data_with_version(data, Some(hex(&bytes[20..28])))?;
    model.format_version = version;
    Ok(model)
}
