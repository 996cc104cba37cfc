//! The JSON shapes of the HTTP API, shared by the server (`metakv`) and [`HttpStore`](crate::HttpStore).
//! Bytes travel as standard base64.

use serde::{Deserialize, Serialize};

/// Standard base64 (with padding), as the API uses for keys, values and bounds.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64; `what` names the field in the error.
pub fn unb64(text: &str, what: &str) -> kv_core::Result<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| kv_core::Error::invalid(format!("`{what}` is not standard base64")))
}

/// Decodes a scan bound from a query string: standard base64 (where a form-decoded `+` may
/// have become a space), or URL-safe base64; padding optional.
pub fn unb64_query(text: &str, what: &str) -> kv_core::Result<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, lenient);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient);
    let text = text.replace(' ', "+");
    standard
        .decode(&text)
        .or_else(|_| url_safe.decode(&text))
        .map_err(|_| {
            kv_core::Error::invalid(format!("`{what}` is neither standard nor URL-safe base64"))
        })
}

/// Query parameters of a scan; bounds are base64.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanQuery {
    /// Only keys with this prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Inclusive lower bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Exclusive lower bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Exclusive upper bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Decreasing order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
    /// At most this many entries in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Entries per page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// From `next_page_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Keys and versions only: items come without `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_only: Option<bool>,
}

/// Query parameters of a count: the bounds of a scan, base64.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountQuery {
    /// Only keys with this prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Inclusive lower bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Exclusive lower bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Exclusive upper bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// A count's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct CountResponse {
    /// How many entries lie in the bounds.
    pub count: u64,
}

/// A multi-get request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetManyRequest {
    /// 1 to 100 keys, base64, each once.
    pub keys: Vec<String>,
}

/// A multi-get's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct GetManyResponse {
    /// One per key, in the order asked; `null` for an absent key.
    pub items: Vec<Option<Item>>,
}

/// One entry of a scan page or a multi-get.
#[derive(Debug, Serialize, Deserialize)]
pub struct Item {
    /// Key, base64.
    pub key: String,
    /// Value, base64; absent from a keys-only scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Version (the ETag without quotes).
    pub version: String,
}

/// A scan page.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScanResponse {
    /// Entries in scan order.
    pub items: Vec<Item>,
    /// Pass as `page_token` to get the next page; absent at the end.
    pub next_page_token: Option<String>,
}

/// A put's answer (the version is also in the `ETag` header).
#[derive(Debug, Serialize, Deserialize)]
pub struct PutResponse {
    /// The new version.
    pub version: String,
    /// Whether the key was created (also told by 201 vs 200).
    pub created: bool,
}

/// A batch request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 100 operations, each key once.
    pub ops: Vec<BatchOpJson>,
}

/// One batch operation.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchOpJson {
    /// `put` or `delete`.
    pub op: String,
    /// Key, base64.
    pub key: String,
    /// Value, base64 (puts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `"*"` (must exist) or a version (quoted or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<String>,
    /// `"*"`: must not exist (puts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_none_match: Option<String>,
}

/// A batch's answer: one version per operation, `null` for deletes.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchResponse {
    /// Versions, in operation order.
    pub versions: Vec<Option<String>>,
}

/// One entry of an export page.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportItem {
    /// Partition, base64.
    pub partition: String,
    /// Key, base64.
    pub key: String,
    /// Value, base64.
    pub value: String,
    /// Version.
    pub version: String,
}

/// An export page.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportResponse {
    /// Entries.
    pub items: Vec<ExportItem>,
    /// Where to resume; absent at the end.
    pub next_page_token: Option<String>,
}

/// Query of an export page.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// From `next_page_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Entries per page (default 100, at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
}

/// The JSON body of every error answer: `{"error":{"code":"...","message":"...","index":N}}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code: `invalid_argument`, `unauthorized`, `not_found`, `method_not_allowed`,
    /// `condition_failed`, `too_large`, `throttled`, `unavailable`, `not_provisioned`,
    /// `outcome_unknown`, `internal`.
    pub code: String,
    /// Human-readable; never contains secrets.
    pub message: String,
    /// For `condition_failed` in a batch: the first failing operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}
