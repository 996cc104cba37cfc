//! Partition and key in the URL path: percent-encoded bytes, decoded strictly.

use kv_core::{Error, Result};

/// Decodes a percent-encoded path segment into raw bytes. Every `%` must start a two-digit hex
/// escape; anything else is `InvalidArgument` (a lenient decoder would silently keep `%zz` as
/// three bytes, which a client did not mean).
pub fn decode_segment(raw: &str, what: &str) -> Result<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "{what} has an invalid percent-encoding at byte {i}"
                        ))
                    })?;
                out.push(hex);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The characters left as they are when encoding a segment: RFC 3986 unreserved.
pub const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes raw bytes as one path segment.
pub fn encode_segment(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_segment(&encode_segment(&all), "key").unwrap(), all);
        assert_eq!(encode_segment(b"a/b"), "a%2Fb");
    }

    #[test]
    fn malformed_escapes_are_rejected() {
        for bad in ["%", "%2", "%zz", "a%g0"] {
            assert!(decode_segment(bad, "key").is_err(), "{bad}");
        }
        assert_eq!(
            decode_segment("%00%ff%2F", "key").unwrap(),
            vec![0, 0xff, b'/']
        );
    }
}
