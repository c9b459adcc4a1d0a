//! Google Cloud Storage through the JSON API: the bucket resource
//! (`GET {base}/storage/v1/b/NAME?projection=full`, which includes the
//! bucket ACLs when uniform access is off) and its IAM policy
//! (`GET {base}/storage/v1/b/NAME/iam`).
//!
//! The base is the `endpoint` argument, else `STORAGE_EMULATOR_HOST` (an
//! emulator: no authentication), else `https://storage.googleapis.com`
//! with a bearer token from `GOOGLE_OAUTH_ACCESS_TOKEN` or
//! `CLOUDSDK_AUTH_ACCESS_TOKEN` (e.g. `gcloud auth print-access-token`).
//! A service-account key file (`GOOGLE_APPLICATION_CREDENTIALS`) is not
//! exchanged for a token: that needs an RS256-signed JWT and a call to
//! Google's token endpoint, which this collector does not make; the error
//! says so. With a custom endpoint a token is sent when one is set.
//!
//! Public: an IAM binding or a bucket ACL entry for `allUsers` or
//! `allAuthenticatedUsers`, unless public access prevention is `enforced`
//! (GCS then refuses such access whatever the policy says). GCS encrypts
//! every object: with Google-managed keys, or with the bucket's default
//! Cloud KMS key when one is set.

use super::{parse_endpoint, url_with, Env, Facts, Http, Reply, Target};
use mlpol_lang::value::format_duration;
use serde_json::Value as Json;

const PUBLIC_MEMBERS: &[&str] = &["allUsers", "allAuthenticatedUsers"];

pub(super) async fn collect(http: &Http, env: &Env, t: &Target) -> Result<Facts, String> {
    let token = env.var("GOOGLE_OAUTH_ACCESS_TOKEN").or_else(|| env.var("CLOUDSDK_AUTH_ACCESS_TOKEN"));
    let base = match t.endpoint.clone().or_else(|| env.var("STORAGE_EMULATOR_HOST")) {
        Some(e) => parse_endpoint(&e)?,
        None => {
            if token.is_none() {
                return Err(no_token_error(env));
            }
            parse_endpoint("https://storage.googleapis.com")?
        }
    };
    let headers: Vec<(String, String)> =
        token.iter().map(|t| ("authorization".to_string(), format!("Bearer {t}"))).collect();

    let url = url_with(&base, &["storage", "v1", "b", &t.name], &[("projection", "full")])?;
    let reply = http.get(&url, &headers).await.map_err(|e| format!("storage.buckets.get: {e}"))?;
    let bucket = json_ok("storage.buckets.get", &reply)?;

    let url = url_with(&base, &["storage", "v1", "b", &t.name, "iam"], &[])?;
    let reply = http.get(&url, &headers).await.map_err(|e| format!("storage.buckets.getIamPolicy: {e}"))?;
    let iam = json_ok("storage.buckets.getIamPolicy", &reply)?;

    Ok(read_bucket(&bucket, &iam))
}

fn no_token_error(env: &Env) -> String {
    let mut message =
        "no Google Cloud access token (GOOGLE_OAUTH_ACCESS_TOKEN / CLOUDSDK_AUTH_ACCESS_TOKEN)".to_string();
    if env.var("GOOGLE_APPLICATION_CREDENTIALS").is_some() {
        message.push_str(
            "; GOOGLE_APPLICATION_CREDENTIALS is set, but mlpol does not exchange service-account keys for \
             tokens: set GOOGLE_OAUTH_ACCESS_TOKEN (e.g. from `gcloud auth print-access-token`)",
        );
    }
    message
}

/// The JSON body of a successful reply, or the error: `bucket does not
/// exist` or `{op}: {status} {reason}`.
fn json_ok(op: &str, reply: &Reply) -> Result<Json, String> {
    if reply.status == 404 {
        return Err("bucket does not exist".to_string());
    }
    if !reply.ok() {
        let body: Json = serde_json::from_slice(&reply.body).unwrap_or(Json::Null);
        let error = body.get("error");
        let reason = error
            .and_then(|e| e.get("errors"))
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("reason"))
            .and_then(Json::as_str)
            .or_else(|| error.and_then(|e| e.get("status")).and_then(Json::as_str))
            .unwrap_or("(no reason given)");
        return Err(format!("{op}: {} {reason}", reply.status));
    }
    serde_json::from_slice(&reply.body).map_err(|e| format!("{op}: the response is not JSON: {e}"))
}

fn read_bucket(bucket: &Json, iam: &Json) -> Facts {
    let text = |path: &[&str]| path.iter().try_fold(bucket, |v, k| v.get(k)).and_then(Json::as_str).map(str::to_string);
    let flag = |path: &[&str]| path.iter().try_fold(bucket, |v, k| v.get(k)).and_then(Json::as_bool);
    let mut facts =
        Facts { region: text(&["location"]).map(|l| l.to_ascii_lowercase()), encrypted: true, ..Facts::default() };
    let kms = text(&["encryption", "defaultKmsKeyName"]).filter(|k| !k.is_empty());
    facts.encryption = Some(if kms.is_some() { "cloud-kms" } else { "google-managed" }.to_string());
    facts.kms_key = kms;
    facts.uniform_access = Some(flag(&["iamConfiguration", "uniformBucketLevelAccess", "enabled"]).unwrap_or(false));
    let prevention = text(&["iamConfiguration", "publicAccessPrevention"]).filter(|p| !p.is_empty());
    facts.versioning = Some(flag(&["versioning", "enabled"]).unwrap_or(false));
    facts.logging = Some(text(&["logging", "logBucket"]).is_some_and(|b| !b.is_empty()));
    facts.retention = bucket.get("retentionPolicy").and_then(retention);

    let mut reasons = Vec::new();
    let bindings = iam.get("bindings").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    for binding in bindings {
        let role = binding.get("role").and_then(Json::as_str).unwrap_or("?");
        let members = binding.get("members").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
        for member in members.iter().filter_map(Json::as_str).filter(|m| PUBLIC_MEMBERS.contains(m)) {
            reasons.push(format!("IAM binds {member} to {role}"));
        }
    }
    if facts.uniform_access != Some(true) {
        for (list, what) in [("acl", "bucket ACL"), ("defaultObjectAcl", "default object ACL")] {
            let entries = bucket.get(list).and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
            for entry in entries {
                let entity = entry.get("entity").and_then(Json::as_str).unwrap_or("");
                if PUBLIC_MEMBERS.contains(&entity) {
                    let role = entry.get("role").and_then(Json::as_str).unwrap_or("?");
                    reasons.push(format!("{what} grants {role} to {entity}"));
                }
            }
        }
    }
    if prevention.as_deref() != Some("enforced") {
        facts.public_reasons = reasons;
    }
    facts.public_access_prevention = prevention;
    facts
}

/// `30d`, `30d (locked)`.
fn retention(policy: &Json) -> Option<String> {
    let period = policy.get("retentionPeriod")?;
    let seconds = period.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| period.as_i64())?;
    let locked = policy.get("isLocked").and_then(Json::as_bool).unwrap_or(false);
    Some(if locked { format!("{} (locked)", format_duration(seconds)) } else { format_duration(seconds) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_bucket() {
        let bucket = json!({
            "name": "b", "location": "EUROPE-WEST1",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": false}, "publicAccessPrevention": "inherited"},
            "encryption": {"defaultKmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"},
            "retentionPolicy": {"retentionPeriod": "2592000", "isLocked": true},
            "versioning": {"enabled": true},
            "logging": {"logBucket": "logs"},
            "acl": [{"entity": "allAuthenticatedUsers", "role": "READER"}, {"entity": "project-owners-1", "role": "OWNER"}]
        });
        let iam = json!({"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers", "user:a@b.c"]}]});
        let f = read_bucket(&bucket, &iam);
        assert_eq!(f.region.as_deref(), Some("europe-west1"));
        assert_eq!(f.encryption.as_deref(), Some("cloud-kms"));
        assert_eq!(f.retention.as_deref(), Some("30d (locked)"));
        assert_eq!(
            f.public_reasons,
            vec![
                "IAM binds allUsers to roles/storage.objectViewer",
                "bucket ACL grants READER to allAuthenticatedUsers"
            ]
        );
        assert_eq!((f.versioning, f.logging, f.uniform_access), (Some(true), Some(true), Some(false)));
        let mut enforced = bucket.clone();
        enforced["iamConfiguration"]["publicAccessPrevention"] = json!("enforced");
        assert!(read_bucket(&enforced, &iam).public_reasons.is_empty());
    }
}
