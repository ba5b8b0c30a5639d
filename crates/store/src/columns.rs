//! How report access facts are spelled in table columns, shared by every
//! backend so that each reads exactly what the other writes.

use std::collections::BTreeSet;

use kyojo_core::policy::{OrgId, Owner};
use kyojo_core::Audience;

/// `(audience_kind, audience)`: a kind word and a JSON list.
pub(crate) fn audience_to_columns(a: &Audience) -> (&'static str, String) {
    match a {
        Audience::Community => ("community", "[]".to_string()),
        Audience::Sectors(s) => (
            "sectors",
            serde_json::to_string(s).unwrap_or_else(|_| "[]".into()),
        ),
        Audience::Orgs(o) => (
            "orgs",
            serde_json::to_string(o).unwrap_or_else(|_| "[]".into()),
        ),
    }
}

/// The audience back from its columns; the error says what is corrupt.
pub(crate) fn audience_from_columns(kind: &str, json: &str) -> Result<Audience, String> {
    let bad = |e: serde_json::Error| format!("bad audience {json:?}: {e}");
    match kind {
        "community" => Ok(Audience::Community),
        "sectors" => Ok(Audience::Sectors(
            serde_json::from_str::<BTreeSet<String>>(json).map_err(bad)?,
        )),
        "orgs" => Ok(Audience::Orgs(
            serde_json::from_str::<BTreeSet<OrgId>>(json).map_err(bad)?,
        )),
        other => Err(format!("unknown audience kind {other:?}")),
    }
}

/// `(owner_org, owner_seal)`: an organization in clear, or only the seal of
/// an anonymous one.
pub(crate) fn owner_to_columns(o: &Owner) -> (Option<OrgId>, Option<Vec<u8>>) {
    match o {
        Owner::Org(id) => (Some(*id), None),
        Owner::Sealed(seal) => (None, Some(seal.to_vec())),
    }
}

/// `scope_seal`: NULL for a hub-wide decision, the organization's seal for
/// its own.
pub(crate) fn scope_seal(scope: &crate::DecisionScope) -> Option<Vec<u8>> {
    match scope {
        crate::DecisionScope::Hub => None,
        crate::DecisionScope::Own(seal) => Some(seal.to_vec()),
    }
}

/// The scope back from its column; the error says what is corrupt.
pub(crate) fn decision_scope(seal: Option<Vec<u8>>) -> Result<crate::DecisionScope, String> {
    match seal {
        None => Ok(crate::DecisionScope::Hub),
        Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .map(crate::DecisionScope::Own)
            .map_err(|_| "decision scope seal is not 32 bytes".to_string()),
    }
}
