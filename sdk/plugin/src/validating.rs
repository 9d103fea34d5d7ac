//! The validating-tool contract: a session names the tool that checks its constraint function's
//! arguments (`validate` by default; a domain plugin such as `real-estate` in its place). The
//! orchestrator calls it with a [`ValidatingInput`] (`{catalog_id, arguments, stated?}`) and
//! reads back a [`ValidatingAnswer`] (`{valid, violations, arguments, ...}`): whether the
//! planner's arguments were valid as given, what was wrong, and the repaired (and possibly
//! relaxed) arguments it will use. A validating tool declares
//! `type Arguments = ValidatingInput; type Output = ValidatingAnswer;`; the types are the ones
//! the orchestrator reads with (`interarec-capability`), so both sides agree by construction.
//! `stated` (the facts the shopper stated outright) is sent only to tools whose schema declares
//! it, which `ValidatingInput`'s does.

pub use interarec_capability::validating::{ValidatingAnswer, ValidatingInput, Violation};
