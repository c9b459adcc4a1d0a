//! The OSV API (<https://google.github.io/osv.dev/api/>): which advisories
//! affect each package version (`POST /v1/querybatch`, at most 1000
//! queries a request, following `next_page_token`), then each advisory's
//! details (`GET /v1/vulns/{id}`, a few at a time). Every request is
//! bounded by the collector's timeout and every body by a size cap; any
//! failure is a fact error ("OSV unreachable: ..."), never an empty list.

use super::advisories::{Advisory, Found};
use super::Package;
use mlpol_lang::eval::FactError;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Queries in one `querybatch` request (the API's limit).
const BATCH: usize = 1000;
/// Rounds of `next_page_token` follow-ups per batch.
const MAX_PAGES: usize = 20;
/// The most distinct advisories fetched for one fact.
const MAX_ADVISORIES: usize = 5000;
/// Advisory details fetched at the same time.
const CONCURRENCY: usize = 8;
/// The largest `querybatch` answer read.
const MAX_BATCH_BODY: usize = 32 << 20;
/// The largest advisory read.
const MAX_VULN_BODY: usize = 4 << 20;

/// The advisories affecting `packages`, in package order, asked of the OSV
/// API at `base` (`https://api.osv.dev`).
pub async fn query(base: &str, timeout: Duration, packages: &[Package]) -> Result<Vec<Found>, FactError> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let client = client(timeout)?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for p in packages {
        let key = (p.name.clone(), p.version.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut ids_for: HashMap<(String, String), Vec<String>> = HashMap::new();
    let batch_url = format!("{base}/v1/querybatch");
    for chunk in keys.chunks(BATCH) {
        // (index in chunk, page token) of the queries still to ask.
        let mut pending: Vec<(usize, Option<String>)> = (0..chunk.len()).map(|i| (i, None)).collect();
        for round in 0.. {
            if pending.is_empty() {
                break;
            }
            if round >= MAX_PAGES {
                return Err(FactError::new(format!("OSV: more than {MAX_PAGES} pages of results from {batch_url}")));
            }
            let queries: Vec<Json> = pending
                .iter()
                .filter_map(|(i, token)| {
                    let (name, version) = chunk.get(*i)?;
                    let mut q = json!({"package": {"name": name, "ecosystem": "PyPI"}, "version": version});
                    if let (Some(token), Some(obj)) = (token, q.as_object_mut()) {
                        obj.insert("page_token".to_string(), Json::String(token.clone()));
                    }
                    Some(q)
                })
                .collect();
            let body = json!({ "queries": queries });
            let answer = post_json(&client, &batch_url, &body).await?;
            let results = answer
                .get("results")
                .and_then(Json::as_array)
                .ok_or_else(|| FactError::new(format!("OSV: unexpected answer from {batch_url}: no `results` list")))?;
            if results.len() != pending.len() {
                return Err(FactError::new(format!(
                    "OSV: {batch_url} answered {} results for {} queries",
                    results.len(),
                    pending.len()
                )));
            }
            let mut next = Vec::new();
            for ((i, _), result) in pending.iter().zip(results) {
                let Some(key) = chunk.get(*i) else { continue };
                let ids = ids_for.entry(key.clone()).or_default();
                for vuln in result.get("vulns").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default() {
                    if let Some(id) = vuln.get("id").and_then(Json::as_str) {
                        if !ids.iter().any(|x| x == id) {
                            ids.push(id.to_string());
                        }
                    }
                }
                if let Some(token) = result.get("next_page_token").and_then(Json::as_str).filter(|t| !t.is_empty()) {
                    next.push((*i, Some(token.to_string())));
                }
            }
            pending = next;
        }
    }

    let mut all_ids: Vec<String> = ids_for.values().flatten().cloned().collect();
    all_ids.sort();
    all_ids.dedup();
    if all_ids.len() > MAX_ADVISORIES {
        return Err(FactError::new(format!("OSV: more than {MAX_ADVISORIES} advisories affect the dependencies")));
    }
    let details = fetch_all(&client, base, &all_ids).await?;

    let mut out = Vec::new();
    for p in packages {
        let mut ids = ids_for.get(&(p.name.clone(), p.version.clone())).cloned().unwrap_or_default();
        ids.sort();
        for id in ids {
            let Some(advisory) = details.get(&id) else { continue };
            if advisory.withdrawn {
                continue;
            }
            out.push(Found { package: p.clone(), advisory: advisory.clone(), fixed: advisory.fixed(&p.name) });
        }
    }
    Ok(out)
}

/// `GET {base}/v1/vulns/{id}` for each id, [`CONCURRENCY`] at a time.
async fn fetch_all(
    client: &reqwest::Client,
    base: &str,
    ids: &[String],
) -> Result<HashMap<String, Arc<Advisory>>, FactError> {
    let mut details = HashMap::new();
    for group in ids.chunks(CONCURRENCY) {
        let mut tasks = tokio::task::JoinSet::new();
        for id in group {
            if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')) {
                return Err(FactError::new(format!("OSV: unexpected advisory id {id:?}")));
            }
            let client = client.clone();
            let url = format!("{base}/v1/vulns/{id}");
            let id = id.clone();
            tasks.spawn(async move {
                let json = get_json(&client, &url).await?;
                let advisory = Advisory::from_json(&json)
                    .ok_or_else(|| FactError::new(format!("OSV: {url} is not an OSV record (no `id`)")))?;
                Ok::<_, FactError>((id, advisory))
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (id, advisory) = joined.map_err(|e| FactError::new(format!("OSV: a request task failed: {e}")))??;
            details.insert(id, Arc::new(advisory));
        }
    }
    Ok(details)
}

/// A client with rustls (ring) and the platform's root certificates.
fn client(timeout: Duration) -> Result<reqwest::Client, FactError> {
    let setup = |e: String| FactError::new(format!("OSV: {e}"));
    crate::net::client_builder(crate::net::roots(Vec::new()).map_err(setup)?)
        .map_err(setup)?
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| FactError::new(format!("OSV: cannot build the HTTP client: {}", reason(&e))))
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Json) -> Result<Json, FactError> {
    let bytes = serde_json::to_vec(body).map_err(|e| FactError::new(format!("OSV: cannot encode the query: {e}")))?;
    let request = client.post(url).header("content-type", "application/json").body(bytes);
    read_json(request.send().await, url, MAX_BATCH_BODY).await
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Json, FactError> {
    read_json(client.get(url).send().await, url, MAX_VULN_BODY).await
}

/// The JSON body of a 2xx answer, at most `cap` bytes.
async fn read_json(sent: Result<reqwest::Response, reqwest::Error>, url: &str, cap: usize) -> Result<Json, FactError> {
    // The URL is said once, not again in reqwest's message.
    let unreachable =
        |e: reqwest::Error| FactError::new(format!("OSV unreachable: {url}: {}", reason(&e.without_url())));
    let mut response = sent.map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FactError::new(format!("OSV unreachable: {url} answered {status}")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > cap {
            return Err(FactError::new(format!("OSV: the answer of {url} is larger than {} MiB", cap >> 20)));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| FactError::new(format!("OSV: {url} answered invalid JSON: {e}")))
}

/// An error with its causes (`error sending request: connection refused`).
fn reason(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    for _ in 0..8 {
        let Some(s) = source else { break };
        let message = s.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = s.source();
    }
    text
}
