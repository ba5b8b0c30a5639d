//! Traffic Light Protocol 2.0 (FIRST) markings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A TLP 2.0 marking. Ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tlp {
    #[serde(rename = "CLEAR")]
    Clear,
    #[serde(rename = "GREEN")]
    Green,
    #[serde(rename = "AMBER")]
    Amber,
    #[serde(rename = "AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "RED")]
    Red,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TLP marking {0:?}: expected one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED")]
pub struct UnknownTlp(pub String);

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
    }

    /// CLEAR and GREEN may be passed on outside the hub (public feeds, federation);
    /// AMBER, AMBER+STRICT and RED never leave it.
    pub fn may_leave_hub(self) -> bool {
        matches!(self, Tlp::Clear | Tlp::Green)
    }

    /// RED is for named recipients only: it never appears in bulk feeds or exports.
    pub fn allowed_in_bulk(self) -> bool {
        self != Tlp::Red
    }

    /// Only CLEAR may be read without a token.
    pub fn is_public(self) -> bool {
        self == Tlp::Clear
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tlp {
    type Err = UnknownTlp;

    /// Accepts `AMBER+STRICT`, `TLP:AMBER+STRICT`, any case, and TLP 1.0's `WHITE` as CLEAR.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("TLP:").unwrap_or(&upper);
        match bare {
            "CLEAR" | "WHITE" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(UnknownTlp(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_json() {
        for tlp in Tlp::ALL {
            assert_eq!(tlp.as_str().parse::<Tlp>(), Ok(tlp));
            let json = serde_json::to_string(&tlp).unwrap();
            assert_eq!(json, format!("\"{}\"", tlp.as_str()));
            assert_eq!(serde_json::from_str::<Tlp>(&json).unwrap(), tlp);
        }
    }

    #[test]
    fn accepts_prefixes_case_and_tlp1_white() {
        assert_eq!("tlp:amber+strict".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert_eq!(" White ".parse::<Tlp>(), Ok(Tlp::Clear));
        assert!("AMBER STRICT".parse::<Tlp>().is_err());
        assert!("".parse::<Tlp>().is_err());
    }

    #[test]
    fn leaving_the_hub_and_bulk_rules() {
        let leave: Vec<_> = Tlp::ALL.into_iter().filter(|t| t.may_leave_hub()).collect();
        assert_eq!(leave, vec![Tlp::Clear, Tlp::Green]);
        let bulk: Vec<_> = Tlp::ALL
            .into_iter()
            .filter(|t| t.allowed_in_bulk())
            .collect();
        assert_eq!(
            bulk,
            vec![Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict]
        );
        assert!(Tlp::Clear < Tlp::Red);
    }
}
