//! Export page tokens: where each parallel `Scan` segment stands.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kv_core::{Error, Key, Partition, Result};

/// The state of one segment of the parallel scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Not started.
    Start,
    /// Resume after this item.
    After(Partition, Key),
    /// Finished.
    Done,
}

/// Encodes the segments' states (with a CRC-32 so that damaged tokens are refused).
pub(crate) fn encode(segments: &[Segment]) -> String {
    let mut raw = vec![1u8, segments.len() as u8];
    for s in segments {
        match s {
            Segment::Start => raw.push(0),
            Segment::Done => raw.push(2),
            Segment::After(p, k) => {
                raw.push(1);
                for part in [p.as_bytes(), k.as_bytes()] {
                    raw.extend_from_slice(&(part.len() as u16).to_be_bytes());
                    raw.extend_from_slice(part);
                }
            }
        }
    }
    raw.extend_from_slice(&crc32fast::hash(&raw).to_be_bytes());
    URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes a token made by [`encode`] for `count` segments.
pub(crate) fn decode(token: &str, count: usize) -> Result<Vec<Segment>> {
    let bad = || Error::invalid("malformed export page token");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let (body, crc) = raw
        .split_at_checked(raw.len().checked_sub(4).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    if crc32fast::hash(body).to_be_bytes() != crc || body.len() < 2 || body[0] != 1 {
        return Err(bad());
    }
    if usize::from(body[1]) != count {
        return Err(Error::invalid(
            "export page token was made with another scan_segments setting",
        ));
    }
    let mut rest = &body[2..];
    let mut take = |n: usize| -> Result<&[u8]> {
        let (head, tail) = rest.split_at_checked(n).ok_or_else(bad)?;
        rest = tail;
        Ok(head)
    };
    let mut segments = Vec::with_capacity(count);
    for _ in 0..count {
        segments.push(match take(1)?[0] {
            0 => Segment::Start,
            2 => Segment::Done,
            1 => {
                let mut part = || -> Result<Vec<u8>> {
                    let len = take(2)?;
                    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
                    Ok(take(len)?.to_vec())
                };
                let (p, k) = (part()?, part()?);
                Segment::After(
                    Partition::new(p).map_err(|_| bad())?,
                    Key::new(k).map_err(|_| bad())?,
                )
            }
            _ => return Err(bad()),
        });
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_damage() {
        let segments = vec![
            Segment::Start,
            Segment::After(
                Partition::new(b"p\x00".to_vec()).unwrap(),
                Key::new(vec![0xff]).unwrap(),
            ),
            Segment::Done,
        ];
        let token = encode(&segments);
        assert_eq!(decode(&token, 3).unwrap(), segments);
        assert!(decode(&token, 4).is_err());
        assert!(decode("AAAAAA", 3).is_err());
    }
}
