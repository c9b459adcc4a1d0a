//! S3 (and S3-compatible servers): the bucket's sub-resources through the
//! REST API, signed with SigV4.
//!
//! Addressing: a custom endpoint (the `endpoint` argument, else
//! `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`) is addressed path-style
//! (`{endpoint}/{bucket}?acl`); AWS itself virtual-hosted-style
//! (`https://{bucket}.s3.{region}.amazonaws.com/?acl`), or path-style for a
//! bucket name with dots (which a wildcard certificate does not cover).
//! The region starts as the `region` argument, `AWS_REGION`,
//! `AWS_DEFAULT_REGION` or `us-east-1`; GetBucketLocation (retried once in
//! the region S3 names in `x-amz-bucket-region`) then fixes it for the
//! other calls. Only the environment's static keys are used: no profiles,
//! no `~/.aws`, no instance metadata.
//!
//! Public: an ACL grant to `AllUsers` or `AuthenticatedUsers` counts unless
//! the bucket's public access block has `IgnorePublicAcls` on; an `Allow`
//! statement of the bucket policy to Principal `"*"` (or `{"AWS": "*"}`)
//! without a restricting condition (a fixed `aws:SourceIp` other than
//! `0.0.0.0/0`, `aws:SourceVpc(e)`, `aws:SourceArn`, `aws:SourceAccount`,
//! `aws:SourceOwner`, `aws:PrincipalOrgID`, `aws:PrincipalAccount`,
//! `aws:PrincipalArn`, `aws:userid`, `s3:DataAccessPoint*`) — or
//! GetBucketPolicyStatus saying `IsPublic` — counts unless
//! `RestrictPublicBuckets` is on. That follows AWS's own definition of a
//! public bucket; the account-level public access block is not read.
//! GetBucketPolicyStatus is optional: a server that does not implement it
//! (or denies it) leaves the policy's own reading.

use super::sign::{self, AwsCredentials, UtcTime};
use super::{host_header, parse_endpoint, url_with, xml, Env, Facts, Http, Reply, Target};
use mlpol_lang::value::format_duration;
use serde_json::Value as Json;

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

pub(super) async fn collect(http: &Http, env: &Env, t: &Target) -> Result<Facts, String> {
    let (Some(access_key_id), Some(secret_access_key)) =
        (env.var("AWS_ACCESS_KEY_ID"), env.var("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err("no AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)".to_string());
    };
    let creds = AwsCredentials { access_key_id, secret_access_key, session_token: env.var("AWS_SESSION_TOKEN") };
    let region = t
        .region
        .clone()
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_string());
    let custom =
        match t.endpoint.clone().or_else(|| env.var("AWS_ENDPOINT_URL_S3")).or_else(|| env.var("AWS_ENDPOINT_URL")) {
            Some(e) => Some(parse_endpoint(&e)?),
            None => None,
        };
    let mut s3 = S3 { http, creds, region, custom, bucket: &t.name };
    let mut facts = Facts::default();

    let mut location = s3.call("GetBucketLocation", "location").await?;
    if !location.ok() && s3.custom.is_none() {
        if let Some(r) = location.header("x-amz-bucket-region").filter(|r| *r != s3.region).map(str::to_string) {
            s3.region = r;
            location = s3.call("GetBucketLocation", "location").await?;
        }
    }
    let doc = s3.expect_ok("GetBucketLocation", &location, None)?;
    let constraint = doc.as_ref().map(|d| d.text.trim().to_string()).unwrap_or_default();
    s3.region = match constraint.as_str() {
        "" => "us-east-1".to_string(),
        "EU" => "eu-west-1".to_string(),
        r => r.to_string(),
    };
    facts.region = Some(s3.region.clone());

    let reply = s3.call("GetBucketEncryption", "encryption").await?;
    if let Some(doc) =
        s3.expect_ok("GetBucketEncryption", &reply, Some("ServerSideEncryptionConfigurationNotFoundError"))?
    {
        let rule = doc.child("Rule").and_then(|r| r.child("ApplyServerSideEncryptionByDefault"));
        let algorithm = rule.and_then(|r| r.text_at(&["SSEAlgorithm"])).filter(|a| !a.is_empty());
        facts.encrypted = algorithm.is_some();
        facts.encryption = algorithm.map(str::to_string);
        facts.kms_key = rule.and_then(|r| r.text_at(&["KMSMasterKeyID"])).filter(|k| !k.is_empty()).map(str::to_string);
    }

    let reply = s3.call("GetPublicAccessBlock", "publicAccessBlock").await?;
    let block = match s3.expect_ok("GetPublicAccessBlock", &reply, Some("NoSuchPublicAccessBlockConfiguration"))? {
        Some(doc) => {
            let on = |name: &str| doc.text_at(&[name]).is_some_and(|v| v.eq_ignore_ascii_case("true"));
            [on("BlockPublicAcls"), on("IgnorePublicAcls"), on("BlockPublicPolicy"), on("RestrictPublicBuckets")]
        }
        None => [false; 4],
    };
    let [_, ignore_public_acls, _, restrict_public_buckets] = block;
    facts.public_access_block = Some(block.iter().all(|b| *b));

    let reply = s3.call("GetBucketPolicy", "policy").await?;
    let mut policy_reasons = Vec::new();
    facts.secure_transport = Some(false);
    if reply.ok() {
        let policy: Json =
            serde_json::from_slice(&reply.body).map_err(|e| format!("GetBucketPolicy: the policy is not JSON: {e}"))?;
        let reading = read_policy(&policy);
        policy_reasons = reading.public_reasons;
        facts.secure_transport = Some(reading.denies_insecure_transport);
        // Optional: AWS's own verdict, where the server has it.
        if let Ok(reply) = s3.call("GetBucketPolicyStatus", "policyStatus").await {
            let public = reply.ok()
                && xml::parse(&String::from_utf8_lossy(&reply.body))
                    .ok()
                    .and_then(|d| d.text_at(&["IsPublic"]).map(|v| v.eq_ignore_ascii_case("true")))
                    .unwrap_or(false);
            if public && policy_reasons.is_empty() {
                policy_reasons.push("GetBucketPolicyStatus reports the bucket policy as public".to_string());
            }
        }
    } else {
        s3.expect_ok("GetBucketPolicy", &reply, Some("NoSuchBucketPolicy"))?;
    }

    let reply = s3.call("GetBucketAcl", "acl").await?;
    let mut acl_reasons = Vec::new();
    if let Some(doc) = s3.expect_ok("GetBucketAcl", &reply, None)? {
        let grants =
            doc.child("AccessControlList").map(|l| l.children("Grant").collect::<Vec<_>>()).unwrap_or_default();
        for grant in grants {
            let who = match grant.text_at(&["Grantee", "URI"]) {
                Some(ALL_USERS) => "AllUsers",
                Some(AUTHENTICATED_USERS) => "AuthenticatedUsers",
                _ => continue,
            };
            let permission = grant.text_at(&["Permission"]).unwrap_or("?");
            acl_reasons.push(format!("ACL grants {permission} to {who}"));
        }
    }
    if !ignore_public_acls {
        facts.public_reasons.extend(acl_reasons);
    }
    if !restrict_public_buckets {
        facts.public_reasons.extend(policy_reasons);
    }

    let reply = s3.call("GetBucketVersioning", "versioning").await?;
    let doc = s3.expect_ok("GetBucketVersioning", &reply, None)?;
    facts.versioning = Some(doc.and_then(|d| d.text_at(&["Status"]).map(|s| s == "Enabled")).unwrap_or(false));

    let reply = s3.call("GetBucketLogging", "logging").await?;
    let doc = s3.expect_ok("GetBucketLogging", &reply, None)?;
    facts.logging = Some(doc.is_some_and(|d| d.child("LoggingEnabled").is_some()));

    let reply = s3.call("GetObjectLockConfiguration", "object-lock").await?;
    if let Some(doc) =
        s3.expect_ok("GetObjectLockConfiguration", &reply, Some("ObjectLockConfigurationNotFoundError"))?
    {
        facts.retention = object_lock(&doc);
    }

    Ok(facts)
}

/// The signed client for one bucket.
struct S3<'a> {
    http: &'a Http,
    creds: AwsCredentials,
    region: String,
    custom: Option<reqwest::Url>,
    bucket: &'a str,
}

impl S3<'_> {
    /// GET `?{sub}` on the bucket. Only transport failures are errors here.
    async fn call(&self, op: &str, sub: &str) -> Result<Reply, String> {
        let query = [(sub, "")];
        let url = match &self.custom {
            Some(base) => url_with(base, &[self.bucket], &query)?,
            None if self.bucket.contains('.') => {
                let base = parse_endpoint(&format!("https://s3.{}.amazonaws.com", self.region))?;
                url_with(&base, &[self.bucket], &query)?
            }
            None => {
                let base = parse_endpoint(&format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region))?;
                url_with(&base, &[], &query)?
            }
        };
        let headers = sign::sigv4_get_headers(
            &self.creds,
            &self.region,
            "s3",
            &host_header(&url),
            url.path(),
            &query,
            UtcTime::now(),
        );
        self.http.get(&url, &headers).await.map_err(|e| format!("{op}: {e}"))
    }

    /// The response's XML when it succeeded; `None` when it succeeded with
    /// an empty body or failed with the `absent` error code (the setting is
    /// not configured); otherwise the
    /// error: `bucket does not exist` or `{op}: {status} {code}`.
    fn expect_ok(&self, op: &str, reply: &Reply, absent: Option<&str>) -> Result<Option<xml::Element>, String> {
        let text = String::from_utf8_lossy(&reply.body);
        if reply.ok() && text.trim().is_empty() {
            return Ok(None);
        }
        if reply.ok() {
            return xml::parse(&text).map(Some).map_err(|e| format!("{op}: the response is not XML: {e}"));
        }
        let code = xml::parse(&text).ok().and_then(|d| d.text_at(&["Code"]).map(str::to_string)).unwrap_or_default();
        if absent.is_some_and(|a| a == code) {
            return Ok(None);
        }
        if code == "NoSuchBucket" || (reply.status == 404 && code.is_empty()) {
            return Err("bucket does not exist".to_string());
        }
        let code = if code.is_empty() { "(no error code)".to_string() } else { code };
        Err(format!("{op}: {} {code}", reply.status))
    }
}

/// What a bucket policy says about public access and HTTPS.
#[derive(Debug, Default, PartialEq)]
struct PolicyReading {
    public_reasons: Vec<String>,
    denies_insecure_transport: bool,
}

fn read_policy(policy: &Json) -> PolicyReading {
    let mut out = PolicyReading::default();
    let statements = match policy.get("Statement") {
        Some(Json::Array(xs)) => xs.iter().collect(),
        Some(s @ Json::Object(_)) => vec![s],
        _ => Vec::new(),
    };
    for st in statements {
        let effect = st.get("Effect").and_then(Json::as_str).unwrap_or("");
        if !is_everyone(st.get("Principal")) {
            continue;
        }
        let actions = strings(st.get("Action"));
        let condition = st.get("Condition");
        if effect.eq_ignore_ascii_case("Allow") && !restricts_principal(condition) {
            let what = if actions.is_empty() {
                let not = strings(st.get("NotAction"));
                format!("every action but {}", not.join(", "))
            } else {
                actions.join(", ")
            };
            out.public_reasons.push(format!("bucket policy allows Principal \"*\" {what}"));
        }
        if effect.eq_ignore_ascii_case("Deny")
            && actions.iter().any(|a| glob_match(a, "s3:GetObject"))
            && requires_insecure(condition)
        {
            out.denies_insecure_transport = true;
        }
    }
    out
}

/// `"*"`, `{"AWS": "*"}` or `{"AWS": ["*", …]}`.
fn is_everyone(principal: Option<&Json>) -> bool {
    match principal {
        Some(Json::String(s)) => s == "*",
        Some(Json::Object(m)) => m.get("AWS").is_some_and(|v| strings(Some(v)).iter().any(|s| s == "*")),
        _ => false,
    }
}

/// A string or a list of strings.
fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(xs)) => xs.iter().filter_map(Json::as_str).map(str::to_string).collect(),
        Some(Json::Bool(b)) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

/// The condition keys that make an `Allow` to `"*"` non-public when they
/// are pinned to fixed values (AWS's "public" definition).
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

fn restricts_principal(condition: Option<&Json>) -> bool {
    let Some(Json::Object(ops)) = condition else { return false };
    ops.values().filter_map(Json::as_object).flat_map(|m| m.iter()).any(|(key, values)| {
        let values = strings(Some(values));
        RESTRICTING_KEYS.contains(&key.to_ascii_lowercase().as_str())
            && !values.is_empty()
            && values.iter().all(|v| !v.contains('*') && v != "0.0.0.0/0" && v != "::/0")
    })
}

/// `{"Bool": {"aws:SecureTransport": "false"}}` (or `BoolIfExists`).
fn requires_insecure(condition: Option<&Json>) -> bool {
    let Some(Json::Object(ops)) = condition else { return false };
    ops.iter().filter(|(op, _)| op.eq_ignore_ascii_case("Bool") || op.eq_ignore_ascii_case("BoolIfExists")).any(
        |(_, m)| {
            m.as_object().is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case("aws:SecureTransport")
                        && strings(Some(v)).iter().any(|s| s.eq_ignore_ascii_case("false"))
                })
            })
        },
    )
}

/// IAM action wildcards (`*`, `?`), case-insensitive.
fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.split_first(), t.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => go(rest, t) || t.split_first().is_some_and(|(_, tr)| go(p, tr)),
            (Some((b'?', rest)), Some((_, tr))) => go(rest, tr),
            (Some((a, rest)), Some((b, tr))) => a.eq_ignore_ascii_case(b) && go(rest, tr),
            _ => false,
        }
    }
    pattern.len() <= 128 && go(pattern.as_bytes(), text.as_bytes())
}

/// `object lock GOVERNANCE 30d`, `object lock (no default retention)`.
fn object_lock(doc: &xml::Element) -> Option<String> {
    if doc.text_at(&["ObjectLockEnabled"]) != Some("Enabled") {
        return None;
    }
    let Some(retention) = doc.child("Rule").and_then(|r| r.child("DefaultRetention")) else {
        return Some("object lock (no default retention)".to_string());
    };
    let mode = retention.text_at(&["Mode"]).unwrap_or("?");
    let days = retention.text_at(&["Days"]).and_then(|d| d.parse::<i64>().ok());
    let years = retention.text_at(&["Years"]).and_then(|y| y.parse::<i64>().ok());
    let period = match (days, years) {
        (Some(d), _) => format_duration(d.saturating_mul(86_400)),
        (None, Some(y)) => format!("{y}y"),
        (None, None) => "?".to_string(),
    };
    Some(format!("object lock {mode} {period}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn public_and_https_policies() {
        let p = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::b",
             "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
             "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]});
        let r = read_policy(&p);
        assert_eq!(
            r.public_reasons,
            vec![
                "bucket policy allows Principal \"*\" s3:GetObject",
                "bucket policy allows Principal \"*\" s3:ListBucket"
            ]
        );
        assert!(r.denies_insecure_transport);
        let only_tls = json!({"Statement": {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:PutObject",
            "Condition": {"Bool": {"aws:SecureTransport": false}}}});
        assert_eq!(read_policy(&only_tls), PolicyReading::default());
    }

    #[test]
    fn globs_and_object_lock() {
        assert!(glob_match("s3:*", "s3:GetObject"));
        assert!(glob_match("*", "s3:GetObject"));
        assert!(glob_match("S3:get*", "s3:GetObject"));
        assert!(!glob_match("s3:Put*", "s3:GetObject"));
        let doc = xml::parse(
            "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>\
             <Mode>COMPLIANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
        )
        .unwrap();
        assert_eq!(object_lock(&doc).as_deref(), Some("object lock COMPLIANCE 30d"));
    }
}
