//! Schemas of what the REST API reads and writes where the Rust type does
//! not say it alone: error bodies, inputs read as bounded raw JSON, and the
//! enums sent as strings. `openapi.rs` assembles them into the document;
//! handlers and views name them in `value_type`/`body` attributes.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The literal audience `"community"`: every member.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum CommunityAudience {
    #[serde(rename = "community")]
    Community,
}

// ---- error bodies ---------------------------------------------------------------------

/// Every error: `{"error": {"code", "message", "field"}}` (rendered by
/// [`ApiError`]; a test renders one and checks it has this shape).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `invalid_input`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `too_large`, `rate_limited`, ...
    pub code: String,
    /// For people: what is wrong and how to fix it.
    pub message: String,
    /// The input at fault (`indicators[2].value`, `limit`, `body`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub field: Option<String>,
}

// ---- request shapes that are read as JSON values ----------------------------------------

/// An indicator as sent: a bare string (its kind detected) or `{"type", "value"}`.
#[derive(ToSchema)]
#[allow(dead_code)] // A schema only: the body is read as a bounded JSON value.
#[serde(untagged)]
pub enum IndicatorInput {
    Text(String),
    Typed {
        /// Detected from the value when absent.
        #[serde(rename = "type")]
        #[schema(value_type = Option<KindName>)]
        kind: Option<String>,
        value: String,
    },
}

/// A report's audience as sent: `"community"`, `{"sectors": [slug, ...]}`
/// or `{"orgs": [organization name, ...]}` (1 to 64 entries).
#[derive(ToSchema)]
#[allow(dead_code)] // A schema only: the body is read as a bounded JSON value.
#[serde(untagged)]
pub enum AudienceInput {
    Community(CommunityAudience),
    Sectors {
        #[schema(min_items = 1)]
        sectors: Vec<String>,
    },
    Orgs {
        #[schema(min_items = 1)]
        orgs: Vec<String>,
    },
}

// ---- values of other crates' types --------------------------------------------------

fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// Declares a named schema for a wire value of another crate's type.
macro_rules! named_schema {
    ($(#[$doc:meta])* $marker:ident as $name:literal => $schema:expr) => {
        $(#[$doc])*
        pub struct $marker;
        impl PartialSchema for $marker {
            fn schema() -> RefOr<Schema> {
                RefOr::T($schema)
            }
        }
        impl ToSchema for $marker {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

named_schema!(
    /// `kyojo_core::Kind` on the wire.
    KindName as "Kind" => string_enum(
        "The kind of an observable",
        kyojo_core::Kind::ALL.iter().map(|k| k.as_str()),
    )
);

named_schema!(
    /// `kyojo_core::Tlp` on the wire.
    TlpName as "Tlp" => string_enum(
        "A TLP 2.0 marking",
        kyojo_core::Tlp::ALL.iter().map(|t| t.as_str()),
    )
);

named_schema!(
    /// `kyojo_core::report::IncidentType` on the wire.
    IncidentTypeName as "IncidentType" => string_enum(
        "What kind of incident a report describes",
        kyojo_core::report::IncidentType::ALL.iter().map(|t| t.as_str()),
    )
);

named_schema!(
    /// `kyojo_core::Role` on the wire.
    RoleName as "Role" => string_enum(
        "What a token may do",
        kyojo_core::Role::ALL.iter().map(|r| r.as_str()),
    )
);

named_schema!(
    /// `kyojo_core::decide::Action` on the wire.
    DecisionActionName as "DecisionAction" => string_enum(
        "block, allow, or unset (withdraw earlier decisions)",
        DECISION_ACTIONS.iter().map(|a| a.as_str()),
    )
);

named_schema!(
    /// `kyojo_index::MatchKind` on the wire.
    MatchKindName as "MatchKind" => string_enum(
        "How a looked-up value matched an indicator",
        MATCH_KINDS.iter().map(|m| match_kind_name(*m)),
    )
);

named_schema!(
    /// `kyojo_core::policy::Count` on the wire.
    CountValue as "Count" => OneOfBuilder::new()
        .description(Some(
            "A number, or \"fewer than 3\" when drawn from fewer than 3 organizations",
        ))
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
        .item(string_enum("Too few organizations to show the number", ["fewer than 3"]))
        .into()
);

/// Every decision action (the match below fails to compile when one is added).
pub(crate) const DECISION_ACTIONS: [kyojo_core::decide::Action; 3] = {
    use kyojo_core::decide::Action;
    const fn listed(a: Action) {
        match a {
            Action::Block | Action::Allow | Action::Unset => {}
        }
    }
    listed(Action::Block);
    [Action::Block, Action::Allow, Action::Unset]
};

/// Every match kind (the match in [`match_kind_name`] fails to compile when one is added).
pub(crate) const MATCH_KINDS: [kyojo_index::MatchKind; 4] = [
    kyojo_index::MatchKind::Exact,
    kyojo_index::MatchKind::UrlExpression,
    kyojo_index::MatchKind::ParentDomain,
    kyojo_index::MatchKind::Cidr,
];

/// As `MatchKind` serializes (snake_case).
pub(crate) fn match_kind_name(m: kyojo_index::MatchKind) -> &'static str {
    use kyojo_index::MatchKind;
    match m {
        MatchKind::Exact => "exact",
        MatchKind::UrlExpression => "url_expression",
        MatchKind::ParentDomain => "parent_domain",
        MatchKind::Cidr => "cidr",
    }
}

named_schema!(
    /// A decision's scope as sent.
    DecisionScope as "DecisionScope" => string_enum(
        "own: the organization's own feeds; hub: every member's (curators and the operator). \
         Default: hub for those who may, else own",
        ["own", "hub"],
    )
);

named_schema!(
    /// What an RPZ feed answers for a listed name.
    RpzAction as "RpzAction" => string_enum(
        "nxdomain (default) or walled_garden (a CNAME to the warning host)",
        ["nxdomain", "walled_garden"],
    )
);

named_schema!(
    /// When a sighting was made, as sent.
    SeenAt as "SeenAt" => OneOfBuilder::new()
        .description(Some("RFC 3339 text (or YYYY-MM-DD), or seconds since the epoch"))
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
        .into()
);

named_schema!(
    /// A STIX 2.1 bundle; its objects are validated on import, not here.
    StixBundle as "StixBundle" => ObjectBuilder::new()
        .description(Some("A STIX 2.1 bundle"))
        .property("type", string_enum("Always bundle", ["bundle"]))
        .property("id", ObjectBuilder::new().schema_type(Type::String))
        .property(
            "objects",
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::Object)),
        )
        .required("type")
        .required("objects")
        .examples([serde_json::json!({
            "type": "bundle",
            "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": [{
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "created": "2026-11-20T09:00:00.000Z",
                "modified": "2026-11-20T09:00:00.000Z",
                "pattern": "[domain-name:value = 'stix-import.example']",
                "pattern_type": "stix",
                "valid_from": "2026-11-20T09:00:00Z"
            }]
        })])
        .into()
);

/// Feed names `GET /feeds/{name}` serves (`FeedFormat::from_path`).
pub const FEED_NAMES: [&str; 6] = [
    "rpz",
    "hosts",
    "domains.txt",
    "urls.txt",
    "ips.txt",
    "indicators.csv",
];

named_schema!(
    /// A feed's name in its path.
    FeedName as "FeedName" => string_enum("A feed", FEED_NAMES)
);
