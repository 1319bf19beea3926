//! Greenhouse users → IOP users, for the interviewer pools of a scheduling request. The
//! matching itself is pure ([`mapping::iop_user_for`]); this file fetches what it needs: each
//! job interview's default interviewers (interview kit → default interviewers), then the IOP
//! user linked to each Greenhouse user, and only when none is, the Greenhouse user's e-mail
//! addresses and the IOP users holding them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::core::{Engine, HandlerError};
use super::mapping;

/// Harvest id-array filters take at most this many ids.
const IDS_PER_FILTER: usize = 50;

/// Seconds an interview plan read stays fresh. A stage's job interviews, kits and default
/// interviewers change when someone edits the job, rarely mid-morning; five minutes of reuse
/// keeps a burst of stage moves (and a handler retried after a spent rate-limit window) from
/// reading them again and again.
const PLAN_TTL_SECS: i64 = 300;

/// Harvest reads of interview plans (`job_interviews`, `interview_kits`,
/// `default_interviewers`) by query, each with the time it was read.
///
/// Besides saving calls, the cache keeps a handler making progress under a tight rate limit:
/// a handler is restarted from its first read when a window is spent, and one needing more
/// reads than a window allows would otherwise never finish.
#[derive(Default)]
pub(crate) struct PlanCache {
    entries: Mutex<HashMap<String, ReadAt>>,
}

/// Rows as Harvest listed them, and when.
type ReadAt = (DateTime<Utc>, Vec<Value>);

impl PlanCache {
    fn get(&self, key: &str, now: DateTime<Utc>) -> Option<Vec<Value>> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (at, rows) = entries.get(key)?;
        (now - *at < Duration::seconds(PLAN_TTL_SECS)).then(|| rows.clone())
    }

    fn put(&self, key: String, now: DateTime<Utc>, rows: Vec<Value>) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|_, (at, _)| now - *at < Duration::seconds(PLAN_TTL_SECS));
        entries.insert(key, (now, rows));
    }
}

fn as_i64(value: Option<&Value>) -> Option<i64> {
    value.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

impl Engine {
    /// The `interviewer_pool` of each job interview (by its id), from its default interviewers.
    /// Greenhouse users no IOP user stands for are left out, with an audit entry.
    pub(crate) async fn interviewer_pools(
        &self,
        job_interviews: &[Value],
        item: Option<i64>,
    ) -> Result<BTreeMap<i64, Vec<String>>, HandlerError> {
        let ids: Vec<i64> = job_interviews.iter().filter_map(|ji| as_i64(ji.get("id"))).collect();
        let kits = self.list_by_ids("interview_kits", "job_interview_ids", &ids).await?;
        let kit_to_interview: BTreeMap<i64, i64> = kits
            .iter()
            .filter_map(|k| Some((as_i64(k.get("id"))?, as_i64(k.get("job_interview_id"))?)))
            .collect();
        if kit_to_interview.is_empty() {
            return Ok(BTreeMap::new());
        }
        let kit_ids: Vec<i64> = kit_to_interview.keys().copied().collect();
        let mut rows =
            self.list_by_ids("default_interviewers", "interview_kit_ids", &kit_ids).await?;
        // Harvest lists newest first; a kit's defaults keep the order they were added in.
        rows.sort_by_key(|row| as_i64(row.get("id")));
        let defaults: Vec<(i64, i64)> = rows
            .iter()
            .filter_map(|row| {
                let interview = kit_to_interview.get(&as_i64(row.get("interview_kit_id"))?)?;
                Some((*interview, as_i64(row.get("user_id"))?))
            })
            .collect();

        let mut resolved: BTreeMap<i64, Option<String>> = BTreeMap::new();
        for &(_, gh_user_id) in &defaults {
            if let std::collections::btree_map::Entry::Vacant(slot) = resolved.entry(gh_user_id) {
                slot.insert(self.iop_user_for(gh_user_id).await?);
            }
        }
        let (pools, unknown) =
            mapping::interviewer_pools(&defaults, |u| resolved.get(&u).cloned().flatten());
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(ToString::to_string).collect();
            let detail = format!(
                "interviewer pool: no active IOP user for Greenhouse user(s) {}; left out",
                list.join(", ")
            );
            self.audit(item, "interviewer_unmatched", detail).await?;
        }
        Ok(pools)
    }

    /// The active IOP user standing for a Greenhouse user: by Greenhouse id, then by e-mail.
    // TODO(perf): IOP users are looked up again for every request opened (one call per
    // interviewer); they are not cached because a deactivation must take effect at once.
    // TODO(correctness): a user deactivated between this read and the request's create makes
    // the IOP answer 422 `interviewer_inactive`, a dead letter; retrying without them is not done.
    async fn iop_user_for(&self, gh_user_id: i64) -> Result<Option<String>, HandlerError> {
        let matching = &self.config.mapping.interviewers;
        let filter = ("external_ref.greenhouse.user_id", gh_user_id.to_string());
        let linked = self.iop.list("/v1/users", &[filter]).await?;
        if let Some(id) = mapping::iop_user_for(gh_user_id, &[], &linked, matching) {
            return Ok(Some(id.to_owned()));
        }
        if !matching.match_by_email {
            return Ok(None);
        }
        let Some(gh_user) = self.greenhouse.get("users", gh_user_id).await? else {
            return Ok(None);
        };
        let emails = greenhouse_emails(&gh_user);
        let mut candidates = Vec::new();
        for email in &emails {
            let address = matching.iop_email(email);
            candidates.extend(self.iop.list("/v1/users", &[("email", address)]).await?);
        }
        Ok(mapping::iop_user_for(gh_user_id, &emails, &candidates, matching).map(str::to_owned))
    }

    /// The Greenhouse user an IOP user stands for: the id in its `external_refs`, else (when
    /// matching by e-mail) the Greenhouse user whose primary e-mail is the IOP user's address
    /// turned back through the aliases.
    pub(crate) async fn greenhouse_user_for(
        &self,
        iop_user: &Value,
    ) -> Result<Option<i64>, HandlerError> {
        if let Some(id) = as_i64(iop_user.pointer("/external_refs/greenhouse/user_id")) {
            return Ok(Some(id));
        }
        let matching = &self.config.mapping.interviewers;
        let email = iop_user.get("email").and_then(Value::as_str).unwrap_or_default();
        if !matching.match_by_email || email.trim().is_empty() {
            return Ok(None);
        }
        let address = matching.greenhouse_email(email);
        let found = self.greenhouse.list("users", &[("primary_email", address)]).await?;
        Ok(found.first().and_then(|u| as_i64(u.get("id"))))
    }

    /// An interview-plan list filtered by an id-array parameter, in chunks Harvest accepts,
    /// each chunk from the plan cache when fresh.
    async fn list_by_ids(
        &self,
        collection: &str,
        filter: &str,
        ids: &[i64],
    ) -> Result<Vec<Value>, HandlerError> {
        let mut all = Vec::new();
        for chunk in ids.chunks(IDS_PER_FILTER) {
            let joined: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            all.extend(self.plan_list(collection, filter, joined.join(",")).await?);
        }
        Ok(all)
    }

    /// `GET /v3/<collection>?<filter>=<value>` for interview-plan collections, through the
    /// plan cache.
    pub(crate) async fn plan_list(
        &self,
        collection: &str,
        filter: &str,
        value: String,
    ) -> Result<Vec<Value>, HandlerError> {
        let key = format!("{collection}?{filter}={value}");
        if let Some(rows) = self.plans.get(&key, self.clock.now()) {
            return Ok(rows);
        }
        let rows = self.greenhouse.list(collection, &[(filter, value)]).await?;
        self.plans.put(key, self.clock.now(), rows.clone());
        Ok(rows)
    }
}

/// A Greenhouse user's addresses: `primary_email` first, then `emails` (strings or
/// `{value}` objects), without blanks or repeats.
fn greenhouse_emails(user: &Value) -> Vec<String> {
    let primary = user.get("primary_email").and_then(Value::as_str);
    let others = user
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().or_else(|| e.get("value").and_then(Value::as_str)));
    let mut emails: Vec<String> = Vec::new();
    for email in primary.into_iter().chain(others) {
        let email = email.trim().to_lowercase();
        if !email.is_empty() && !emails.contains(&email) {
            emails.push(email);
        }
    }
    emails
}
