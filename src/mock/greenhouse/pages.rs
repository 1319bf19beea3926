//! The world together with the list pages rendered from it, so a client polling the same page
//! gets prepared bytes instead of a fresh render of the whole collection (≈ 1 ms for 100
//! candidates). Correctness rests on one rule: the world is reachable mutably only through
//! [`CachedWorld`]'s `DerefMut`, and that drops every kept page. Any write — a Harvest write, a
//! control-API seed or action, the stale-read fault swapping an old world in — therefore
//! invalidates before it can change a record, whatever code path it takes.
//!
//! TODO(perf): a write drops every kept page, so a read after a write still renders the whole
//! collection (≈ 1 ms per 100 candidates) and a client alternating writes and reads gains
//! nothing; keeping each record's rendered JSON, dropped per changed record, would help it.
//! TODO(perf): under the stale-read fault the swap of the old world drops the pages on every
//! read, so stale reads always render.

use std::ops::{Deref, DerefMut};

use super::fidelity::Fidelity;
use super::reply::Reply;
use super::state::{Collection, Instant, State as World};
use crate::mock::journal::JournalBody;

/// Distinct pages kept at once. A poller asks for the same few pages; a client walking
/// cursors asks for each once. 64 pages of at most 500 records (≈ 280 KB each) bound the
/// cache at ≈ 18 MB; the oldest page goes first.
const MAX_PAGES: usize = 64;

/// Everything a list answer depends on besides the world.
#[derive(Debug, Clone, PartialEq)]
struct PageKey {
    collection: Collection,
    /// The query string exactly as sent: two spellings of one query are two pages.
    query: String,
    /// `stage_id_mode` changes what applications render, `bracket_date_filters` what a query
    /// means; the whole set is compared so a new switch cannot be forgotten here.
    fidelity: Fidelity,
    /// Only for collections whose rendering reads the clock (see [`renders_with_clock`]).
    now: Option<Instant>,
}

/// The mock's records and the pages rendered from them since the last change.
pub(crate) struct CachedWorld {
    world: World,
    pages: Vec<(PageKey, Reply)>,
}

impl CachedWorld {
    pub(crate) fn new(world: World) -> Self {
        Self { world, pages: Vec::new() }
    }

    /// The page kept for this request, if the world has not changed since it was rendered.
    pub(crate) fn page(
        &self,
        collection: Collection,
        query: &str,
        fidelity: &Fidelity,
        now: Instant,
    ) -> Option<Reply> {
        let now = renders_with_clock(collection).then_some(now);
        self.pages
            .iter()
            .find(|(key, _)| {
                key.collection == collection
                    && key.query == query
                    && key.now == now
                    && key.fidelity == *fidelity
            })
            .map(|(_, page)| page.clone())
    }

    /// Keeps a successful page rendered from the current world.
    pub(crate) fn keep_page(
        &mut self,
        collection: Collection,
        query: &str,
        fidelity: &Fidelity,
        now: Instant,
        page: &Reply,
    ) {
        if !page.status.is_success() || page.failure.is_some() {
            return;
        }
        if self.pages.len() >= MAX_PAGES {
            self.pages.remove(0);
        }
        // Every answer sharing this page journals the same cut, made once here.
        let mut page = page.clone();
        page.journal_body.get_or_insert_with(|| JournalBody::cut(&page.body));
        let key = PageKey {
            collection,
            query: query.to_owned(),
            fidelity: fidelity.clone(),
            now: renders_with_clock(collection).then_some(now),
        };
        self.pages.push((key, page));
    }

    /// How many pages are kept (tests check that writes empty the cache).
    #[cfg(test)]
    pub(crate) fn kept_pages(&self) -> usize {
        self.pages.len()
    }
}

/// `days_in_stage` counts up to now, so an application-stage page is only reusable at the
/// same instant (under the virtual clock: until the next `advance`).
fn renders_with_clock(collection: Collection) -> bool {
    collection == Collection::ApplicationStages
}

impl Deref for CachedWorld {
    type Target = World;

    fn deref(&self) -> &World {
        &self.world
    }
}

impl DerefMut for CachedWorld {
    /// Mutable access may change any record, so no kept page can be trusted afterwards.
    fn deref_mut(&mut self) -> &mut World {
        self.pages.clear();
        &mut self.world
    }
}
