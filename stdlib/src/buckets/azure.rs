//! Azure Blob containers: Get Container Properties
//! (`GET {endpoint}/{container}?restype=container`) and Get Container ACL
//! (`…?restype=container&comp=acl`, whose `x-ms-blob-public-access` header
//! is the public access level), signed with Shared Key.
//!
//! Credentials: `AZURE_STORAGE_CONNECTION_STRING` (`AccountName`,
//! `AccountKey` or `SharedAccessSignature`, `BlobEndpoint`,
//! `DefaultEndpointsProtocol`, `EndpointSuffix`), else
//! `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY`. The endpoint is the
//! `endpoint` argument, else `BlobEndpoint`, else
//! `{protocol}://{account}.blob.{suffix}`.
//!
//! Azure Storage encrypts all data at rest. The container API tells only
//! the container's default encryption scope: the account's own
//! (`$account-encryption-key`) is reported as `microsoft-managed` — an
//! account-wide customer-managed key is not visible through the Blob API —
//! and any other scope as `encryption-scope` with the scope's name in
//! `kms_key`. Versioning, logging and "secure transfer required" are
//! account settings outside the Blob API: null. Public access levels
//! `container` and `blob` are public; the account's
//! `AllowBlobPublicAccess` (which can switch them off) is not visible here.

use super::sign::{self, UtcTime};
use super::{parse_endpoint, url_with, Env, Facts, Http, Reply, Target};

const API_VERSION: &str = "2021-08-06";
const NO_CREDENTIALS: &str =
    "no Azure credentials (AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY)";

/// How requests are authorised. `Debug` is not derived: these are secrets.
enum Auth {
    SharedKey { account: String, key: Vec<u8> },
    Sas(String),
}

pub(super) async fn collect(http: &Http, env: &Env, t: &Target) -> Result<Facts, String> {
    let (auth, account_endpoint) = credentials(env)?;
    let endpoint = match t.endpoint.clone().or(account_endpoint) {
        Some(e) => parse_endpoint(&e)?,
        None => {
            return Err(
                "no Azure blob endpoint: the connection string names neither BlobEndpoint nor AccountName".into()
            )
        }
    };

    let properties =
        get(http, &auth, &endpoint, &t.name, &[("restype", "container")], "Get Container Properties").await?;
    let acl =
        get(http, &auth, &endpoint, &t.name, &[("restype", "container"), ("comp", "acl")], "Get Container ACL").await?;

    let mut facts = Facts { encrypted: true, ..Facts::default() };
    match properties
        .header("x-ms-default-encryption-scope")
        .filter(|s| !s.is_empty() && *s != "$account-encryption-key")
    {
        Some(scope) => {
            facts.encryption = Some("encryption-scope".to_string());
            facts.kms_key = Some(scope.to_string());
        }
        None => facts.encryption = Some("microsoft-managed".to_string()),
    }
    let yes = |r: &Reply, h: &str| r.header(h).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let holds: Vec<&str> = [
        (yes(&properties, "x-ms-has-immutability-policy"), "immutability policy"),
        (yes(&properties, "x-ms-has-legal-hold"), "legal hold"),
    ]
    .into_iter()
    .filter_map(|(on, what)| on.then_some(what))
    .collect();
    facts.retention = (!holds.is_empty()).then(|| holds.join(", "));
    if let Some(level) = acl.header("x-ms-blob-public-access").filter(|l| !l.is_empty()) {
        facts.public_reasons.push(format!("container public access level is `{level}`"));
    }
    Ok(facts)
}

/// The authorisation and the account's blob endpoint (if the connection
/// string or the account name gives one).
fn credentials(env: &Env) -> Result<(Auth, Option<String>), String> {
    let Some(cs) = env.var("AZURE_STORAGE_CONNECTION_STRING") else {
        let (Some(account), Some(key)) = (env.var("AZURE_STORAGE_ACCOUNT"), env.var("AZURE_STORAGE_KEY")) else {
            return Err(NO_CREDENTIALS.to_string());
        };
        let key = crate::net::base64_decode(&key).ok_or("AZURE_STORAGE_KEY is not base64")?;
        let endpoint = format!("https://{account}.blob.core.windows.net");
        return Ok((Auth::SharedKey { account, key }, Some(endpoint)));
    };
    let fields: Vec<(String, String)> = cs
        .split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    if field("usedevelopmentstorage").is_some() {
        return Err("AZURE_STORAGE_CONNECTION_STRING: UseDevelopmentStorage is not supported; give AccountName, \
                    AccountKey and BlobEndpoint"
            .to_string());
    }
    let account = field("accountname");
    let endpoint = field("blobendpoint").or_else(|| {
        let protocol = field("defaultendpointsprotocol").unwrap_or_else(|| "https".to_string());
        let suffix = field("endpointsuffix").unwrap_or_else(|| "core.windows.net".to_string());
        account.as_ref().map(|a| format!("{protocol}://{a}.blob.{suffix}"))
    });
    let auth = match (account, field("accountkey"), field("sharedaccesssignature")) {
        (Some(account), Some(key), _) => {
            let key =
                crate::net::base64_decode(&key).ok_or("AccountKey in AZURE_STORAGE_CONNECTION_STRING is not base64")?;
            Auth::SharedKey { account, key }
        }
        (_, _, Some(sas)) => Auth::Sas(sas.trim_start_matches('?').to_string()),
        _ => {
            return Err("AZURE_STORAGE_CONNECTION_STRING has neither AccountName with AccountKey nor \
                        SharedAccessSignature"
                .to_string())
        }
    };
    Ok((auth, endpoint))
}

/// One signed GET on the container; an error reply becomes the error.
async fn get(
    http: &Http,
    auth: &Auth,
    endpoint: &reqwest::Url,
    container: &str,
    query: &[(&str, &str)],
    op: &str,
) -> Result<Reply, String> {
    let mut url = url_with(endpoint, &[container], query)?;
    let date = UtcTime::now().rfc1123();
    let mut headers =
        vec![("x-ms-date".to_string(), date.clone()), ("x-ms-version".to_string(), API_VERSION.to_string())];
    match auth {
        Auth::SharedKey { account, key } => {
            let ms = [("x-ms-date", date.as_str()), ("x-ms-version", API_VERSION)];
            headers.push(("authorization".to_string(), sign::azure_shared_key(account, key, &ms, url.path(), query)));
        }
        Auth::Sas(sas) => {
            let q = url.query().map(|q| format!("{q}&{sas}")).unwrap_or_else(|| sas.clone());
            url.set_query(Some(&q));
        }
    }
    let reply = http.get(&url, &headers).await.map_err(|e| format!("{op}: {e}"))?;
    if reply.ok() {
        return Ok(reply);
    }
    let code = reply.header("x-ms-error-code").unwrap_or("").to_string();
    if code == "ContainerNotFound" || (reply.status == 404 && code.is_empty()) {
        return Err("container does not exist".to_string());
    }
    let code = if code.is_empty() { "(no error code)".to_string() } else { code };
    Err(format!("{op}: {} {code}", reply.status))
}
