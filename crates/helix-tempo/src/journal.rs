//! Where a split order keeps its progress, written before each part is
//! sent, so a lost answer, a dropped future or a crash never sells a part
//! twice: the next run finds the part it did not see confirmed and asks the
//! chain what became of it before selling anything else.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::ChainError;

/// A part sent and not yet seen confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPart {
    /// Base units this part sells.
    #[serde(with = "decimal")]
    pub amount: u128,
    /// Its swap transaction.
    pub hash: String,
    /// The account nonce it was signed with.
    pub nonce: u64,
}

/// An order's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProgress {
    /// Sold and confirmed, base units.
    #[serde(with = "decimal")]
    pub sold: u128,
    /// The part in flight, if any.
    pub pending: Option<PendingPart>,
}

/// Keeps one order's progress.
pub trait OrderJournal: Send + Sync + Debug {
    /// The progress as last saved (nothing sold for a new order).
    fn load(&self) -> Result<OrderProgress, ChainError>;
    /// Saves it; the order sends nothing until this returns.
    fn save(&self, p: &OrderProgress) -> Result<(), ChainError>;
}

/// Progress in memory: survives retries within the process, not a crash.
#[derive(Debug, Default)]
pub struct MemoryJournal(Mutex<OrderProgress>);

impl OrderJournal for MemoryJournal {
    fn load(&self) -> Result<OrderProgress, ChainError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
    fn save(&self, p: &OrderProgress) -> Result<(), ChainError> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = p.clone();
        Ok(())
    }
}

/// Progress in a JSON file, replaced atomically (written beside it,
/// synced, renamed): survives a crash.
#[derive(Debug, Clone)]
pub struct FileJournal {
    path: PathBuf,
}

impl FileJournal {
    /// The order's journal at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileJournal { path: path.into() }
    }
}

fn io(e: impl std::fmt::Display) -> ChainError {
    ChainError::Transport(format!("order journal: {e}"))
}

impl OrderJournal for FileJournal {
    fn load(&self) -> Result<OrderProgress, ChainError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| io(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(OrderProgress::default()),
            Err(e) => Err(io(format!("{}: {e}", self.path.display()))),
        }
    }

    fn save(&self, p: &OrderProgress) -> Result<(), ChainError> {
        use std::io::Write;
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&serde_json::to_vec(p).map_err(io)?)
            .map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// u128 as a decimal string: JSON readers elsewhere hold 53 bits.
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_journal_survives_a_new_instance_and_reads_what_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("order.json");
        let p = OrderProgress {
            sold: u128::MAX,
            pending: Some(PendingPart {
                amount: 5,
                hash: "0xab".into(),
                nonce: 3,
            }),
        };
        assert_eq!(
            FileJournal::new(&path).load().unwrap(),
            OrderProgress::default()
        );
        FileJournal::new(&path).save(&p).unwrap();
        assert_eq!(FileJournal::new(&path).load().unwrap(), p);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(
            FileJournal::new(&path).load().is_err(),
            "corrupt is an error, not zero"
        );
    }
}
