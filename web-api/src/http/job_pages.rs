//! Job pages (`GET /api/jobs/{id}`) served from memory while what they are made of stands still.
//!
//! A job page is made of chain-derived rows (the job, its rounds, their slots, its trainers and
//! their reliability) and of the owner's metrics of its rounds (`round_metrics`, which the service
//! writes itself). The chain-derived part is a function of the index's state, and the indexer's
//! cursor block *and its hash* name that state exactly: the indexer writes rows, cursor and block
//! hash in one transaction, and a block hash commits to every block before it. So a
//! [`PageVersion`] is that block, its hash and the job's metrics, read in one query
//! (`Db::page_version`). A page is kept with the version read *before* its rows were, so it is
//! at least as new as its version; a reader whose version differs makes the page again. Nothing
//! needs invalidating, also not when another process writes the database (its indexer, its
//! metrics handler) or a reorg rolls it back (the rollback removes the cursor: nothing is served
//! from memory until it is back, at another hash if the chain changed).
//!
//! Why: a dashboard (or an auditor's script) polls its job's page; made from the database, a
//! page costs four queries and a serialisation, and those are what kept reads slow while the
//! intake verified uploads on the same cores (`fedproof bench api`). Kept, a read costs one query.
//!
//! At most [`CAPACITY`] pages, least recently used evicted first (`lru`, as in [`super::job_reads`]).

use crate::db::PageVersion;
use bytes::Bytes;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// Pages kept at most (a 10-trainer page is ~2 KB, a 256-trainer one ~40 KB).
pub const CAPACITY: usize = 512;

/// Serialised job pages by job id, each with the index version it was made at.
#[derive(Clone)]
pub struct JobPages {
    pages: Arc<Mutex<LruCache<i64, (PageVersion, Bytes)>>>,
}

impl Default for JobPages {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).expect("CAPACITY is not 0");
        Self { pages: Arc::new(Mutex::new(LruCache::new(capacity))) }
    }
}

impl std::fmt::Debug for JobPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPages").field("pages", &self.lock().len()).finish()
    }
}

impl JobPages {
    /// Job `id`'s page as made at `version`, if it is kept.
    pub fn get(&self, id: i64, version: &PageVersion) -> Option<Bytes> {
        let mut pages = self.lock();
        match pages.get(&id) {
            Some((made_at, page)) if made_at == version => Some(page.clone()),
            _ => None,
        }
    }

    /// Keeps job `id`'s page, made from rows read after `version` was.
    pub fn insert(&self, id: i64, version: PageVersion, page: Bytes) {
        self.lock().put(id, (version, page));
    }

    /// The map; a panic while it was held left it whole (each operation is one map call).
    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<i64, (PageVersion, Bytes)>> {
        self.pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(block: i64, hash: char) -> PageVersion {
        PageVersion { block, hash: format!("0x{}", hash.to_string().repeat(64)), metrics: Vec::new() }
    }

    #[test]
    fn a_page_is_served_only_at_the_version_it_was_made_at() {
        let pages = JobPages::default();
        pages.insert(1, at(10, 'a'), Bytes::from_static(b"{\"id\":1}"));
        assert_eq!(pages.get(1, &at(10, 'a')).as_deref(), Some(&b"{\"id\":1}"[..]));
        assert_eq!(pages.get(1, &at(11, 'b')), None, "the index moved on");
        assert_eq!(pages.get(1, &at(10, 'c')), None, "same height, another chain (a reorg)");
        let measured = PageVersion { metrics: vec![(0, 0.875)], ..at(10, 'a') };
        assert_eq!(pages.get(1, &measured), None, "the owner's metrics changed");
        assert_eq!(pages.get(2, &at(10, 'a')), None);
    }

    #[test]
    fn the_least_recently_read_page_goes_first() {
        let pages = JobPages::default();
        for id in 0..CAPACITY as i64 {
            pages.insert(id, at(1, 'a'), Bytes::new());
        }
        assert!(pages.get(0, &at(1, 'a')).is_some());
        pages.insert(CAPACITY as i64, at(1, 'a'), Bytes::new());
        assert!(pages.get(0, &at(1, 'a')).is_some(), "read last, kept");
        assert!(pages.get(1, &at(1, 'a')).is_none(), "least recently used, evicted");
    }
}
