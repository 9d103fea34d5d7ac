//! Conversions between the well-known types the API uses and what both sides compute with:
//! `Timestamp` from and to Unix milliseconds, `Duration` from and to `std::time::Duration`,
//! `Struct` from and to `serde_json` objects, and the wire enums from and to the names the rest
//! of the code uses (`tool-call`, `offline`, `kv`, `number`).

use crate::v1 as pb;
use prost_types::{ListValue, Struct, Timestamp, value::Kind};
use serde_json::{Map, Number, Value};

/// A timestamp `unix_ms` milliseconds after the epoch.
pub fn timestamp(unix_ms: u64) -> Timestamp {
    Timestamp {
        seconds: (unix_ms / 1000) as i64,
        nanos: ((unix_ms % 1000) * 1_000_000) as i32,
    }
}

/// Milliseconds after the epoch (0 for none, and for a time before the epoch).
pub fn unix_ms(timestamp: Option<&Timestamp>) -> u64 {
    timestamp.map_or(0, |t| {
        (t.seconds.max(0) as u64) * 1000 + (t.nanos.max(0) as u64) / 1_000_000
    })
}

/// The wire form of a duration.
pub fn duration(duration: std::time::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: duration.as_secs() as i64,
        nanos: duration.subsec_nanos() as i32,
    }
}

/// A wire duration (none, or a negative one, is zero).
pub fn std_duration(duration: Option<&prost_types::Duration>) -> std::time::Duration {
    duration.map_or(std::time::Duration::ZERO, |d| {
        std::time::Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32)
    })
}

/// A JSON object as a `Struct` (anything else becomes an empty one).
pub fn to_struct(value: &Value) -> Struct {
    match value {
        Value::Object(fields) => Struct {
            fields: fields.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
        },
        _ => Struct::default(),
    }
}

fn to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(values) => Kind::ListValue(ListValue {
            values: values.iter().map(to_value).collect(),
        }),
        Value::Object(_) => Kind::StructValue(to_struct(value)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A `Struct` as a JSON object. Numbers come back as JSON numbers: whole ones as integers.
pub fn from_struct(value: &Struct) -> Value {
    Value::Object(
        value
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), from_value(v)))
            .collect::<Map<String, Value>>(),
    )
}

fn from_value(value: &prost_types::Value) -> Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                Value::Number(Number::from(*n as i64))
            } else {
                Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(list)) => Value::Array(list.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(fields)) => from_struct(fields),
    }
}

/// Wire enums and the names the rest of the code (and JSON, and people) use for them.
macro_rules! named {
    ($enum:ty { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $enum {
            /// The value's name in the rest of the code (empty for unspecified).
            pub fn name(self) -> &'static str {
                match self {
                    $(<$enum>::$variant => $name,)*
                    _ => "",
                }
            }

            /// The value of a name (`None` for one the API does not have).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(<$enum>::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

named!(pb::EventKind {
    FrameRejected = "frame-rejected",
    Batch = "batch",
    Summary = "summary",
    PlannerContext = "planner-context",
    PlannerStep = "planner-step",
    PlannerError = "planner-error",
    PlannerStopped = "planner-stopped",
    PlannerSkipped = "planner-skipped",
    ToolCall = "tool-call",
    Validation = "validation",
    Consistency = "consistency",
    Constraints = "constraints",
    Assortment = "assortment",
    Recommendation = "recommendation",
    SessionEnded = "session-ended",
});

named!(pb::Capability {
    Kv = "kv",
    Frames = "frames",
    Models = "models",
    Catalog = "catalog",
    Http = "http",
});

named!(pb::AttributeType {
    Text = "text",
    Number = "number",
    List = "list",
});

named!(pb::Planner {
    Offline = "offline",
    Openai = "openai",
});

named!(pb::VisionProvider {
    Offline = "offline",
    Openai = "openai",
});

impl pb::SessionEvent {
    /// The event's kind by name (`tool-call`, ...); empty for one this build does not know.
    pub fn kind_name(&self) -> &'static str {
        pb::EventKind::try_from(self.kind).map_or("", pb::EventKind::name)
    }

    /// The payload as JSON (an empty object when there is none).
    pub fn payload_value(&self) -> Value {
        self.payload
            .as_ref()
            .map_or_else(|| Value::Object(Map::new()), from_struct)
    }

    /// When the event happened, in Unix milliseconds.
    pub fn at_unix_ms(&self) -> u64 {
        unix_ms(self.at.as_ref())
    }
}

/// JSON forms of the API's resources for people's tools (`interarec … --json`): protobuf field
/// names, enums by their short names (`kv`, `text`, `offline`), times in RFC 3339, spans in
/// milliseconds (`timeout_ms`), JSON documents inline rather than as text.
pub mod json {
    use super::{from_struct, std_duration};
    use crate::v1 as pb;
    use serde_json::{Value, json};

    fn time(timestamp: Option<&prost_types::Timestamp>) -> Value {
        timestamp.map_or(Value::Null, |t| Value::String(t.to_string()))
    }

    fn millis(duration: Option<&prost_types::Duration>) -> f64 {
        std_duration(duration).as_secs_f64() * 1e3
    }

    fn document(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
    }

    /// A registered tool.
    pub fn tool(tool: &pb::ToolInfo) -> Value {
        let limits = tool.limits.unwrap_or_default();
        json!({
            "name": tool.name,
            "version": tool.version,
            "description": tool.description,
            "arguments_schema": document(&tool.arguments_schema_json),
            "requested_capabilities": tool.requested_capabilities().map(pb::Capability::name).collect::<Vec<_>>(),
            "grants": tool.grants.iter().map(|g| json!({"capability": g.capability().name(), "hosts": g.hosts})).collect::<Vec<_>>(),
            "limits": {"timeout_ms": millis(limits.timeout.as_ref()), "memory_bytes": limits.memory_bytes, "fuel": limits.fuel},
            "sha256": tool.sha256,
            "component_size": tool.component_size,
            "wit_version": tool.wit_version,
            "registered_at": time(tool.registered_at.as_ref()),
        })
    }

    /// A catalog.
    pub fn catalog(catalog: &pb::CatalogInfo) -> Value {
        json!({
            "catalog_id": catalog.catalog_id,
            "name": catalog.name,
            "item_count": catalog.item_count,
            "price_min": catalog.price_min,
            "price_max": catalog.price_max,
            "rejected_rows": catalog.rejected_rows,
            "imported_at": time(catalog.imported_at.as_ref()),
            "attributes": catalog.attributes.iter().map(|a| json!({
                "name": a.name,
                "type": a.r#type().name(),
                "unit": a.unit,
                "vocabulary": a.vocabulary,
                "min": a.min,
                "max": a.max,
                "present": a.present,
            })).collect::<Vec<_>>(),
        })
    }

    /// A catalog item.
    pub fn item(item: &pb::CatalogItem) -> Value {
        json!({
            "id": item.id,
            "title": item.title,
            "price": item.price,
            "image": item.image,
            "attributes": item.attributes.as_ref().map_or(Value::Null, from_struct),
        })
    }

    /// A fitted choice model (its parameters inline when the answer carries them).
    pub fn model(model: &pb::ChoiceModelInfo) -> Value {
        let provenance = model.provenance.clone().unwrap_or_default();
        json!({
            "model_id": model.model_id,
            "catalog_id": model.catalog_id,
            "created_at": time(model.created_at.as_ref()),
            "no_purchase_share": model.no_purchase_share,
            "provenance": {
                "source": provenance.source,
                "data_sha256": provenance.data_sha256,
                "data_bytes": provenance.data_bytes,
                "lines": provenance.lines,
                "skipped": provenance.skipped,
                "choice_sets": provenance.choice_sets,
                "segment_by": provenance.segment_by,
                "method": provenance.method,
                "outside_option": provenance.outside_option,
                "fit_ms": millis(provenance.fit_duration.as_ref()),
                "notes": provenance.notes,
            },
            "segments": model.segments.iter().map(|s| json!({
                "name": s.name,
                "price_coefficient": s.price_coefficient,
                "price_standard_error": s.price_standard_error,
                "log_likelihood": s.log_likelihood,
                "null_log_likelihood": s.null_log_likelihood,
                "iterations": s.iterations,
                "converged": s.converged,
                "choices_used": s.choices_used,
                "groups": s.groups,
                "items": s.items,
                "unidentified_items": s.unidentified_items,
            })).collect::<Vec<_>>(),
            "parameters": if model.model_json.is_empty() { Value::Null } else { document(&model.model_json) },
        })
    }

    /// A session.
    pub fn session(session: &pb::SessionInfo) -> Value {
        let options = session.options.unwrap_or_default();
        json!({
            "session_id": session.session_id,
            "catalog_id": session.catalog_id,
            "choice_model_id": session.choice_model_id,
            "capacity": session.capacity,
            "options": {
                "batch_size": options.batch_size,
                "batch_interval_ms": millis(options.batch_interval.as_ref()),
                "max_side": options.max_side,
                "static_threshold_bits": options.static_threshold_bits,
            },
            "created_at": time(session.created_at.as_ref()),
            "ended": session.ended,
            "frames_accepted": session.frames_accepted,
            "frames_rejected": session.frames_rejected,
            "last_sequence": session.last_sequence,
            "batches": session.batches,
            "events": session.events,
            "planner": session.planner().name(),
            "vision_provider": session.vision_provider().name(),
            "validate_tool": session.validate_tool,
            "planner_tools": session.planner_tools,
            "planner_turns": session.planner_turns,
            "fallback_turns": session.fallback_turns,
        })
    }
}

/// A new session's answer reads as the session it describes (`created.session_id`), beside the
/// credential that comes only with it.
impl std::ops::Deref for pb::CreateSessionResponse {
    type Target = pb::SessionInfo;

    fn deref(&self) -> &pb::SessionInfo {
        static NONE: std::sync::OnceLock<pb::SessionInfo> = std::sync::OnceLock::new();
        self.session
            .as_ref()
            .unwrap_or_else(|| NONE.get_or_init(pb::SessionInfo::default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_through_the_well_known_types() {
        let payload =
            json!({"batch": 3, "price": 84.99, "items": [{"id": "a", "ok": true}], "none": null, "text": "x"});
        assert_eq!(from_struct(&to_struct(&payload)), payload);
        for ms in [0, 1, 999, 1_796_201_052_844] {
            assert_eq!(unix_ms(Some(&timestamp(ms))), ms);
        }
        let d = std::time::Duration::from_millis(20_250);
        assert_eq!(std_duration(Some(&duration(d))), d);
        assert_eq!(unix_ms(None), 0);
    }

    #[test]
    fn every_wire_enum_value_has_a_name_that_parses_back() {
        for value in 1..=15 {
            let kind = pb::EventKind::try_from(value).unwrap();
            assert_eq!(pb::EventKind::from_name(kind.name()), Some(kind), "{kind:?}");
        }
        for value in 1..=5 {
            let capability = pb::Capability::try_from(value).unwrap();
            assert_eq!(pb::Capability::from_name(capability.name()), Some(capability));
        }
        assert_eq!(pb::EventKind::Unspecified.name(), "");
        assert_eq!(pb::Planner::from_name("telepathy"), None);
    }
}
