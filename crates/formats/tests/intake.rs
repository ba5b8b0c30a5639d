//! Every preset against a fixture in its list's real format
//! (`tests/data/intake/`): which values come out, which rows are counted
//! inactive, duplicate or skipped (with their line), and that a read never
//! fails on a bad row.

use kyojo_core::Kind;
use kyojo_formats::intake::{read, split_csv, CsvMapping, Format, Intake};

fn fixture(name: &str, format: Format) -> Intake {
    let path = format!("{}/tests/data/intake/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    read(&format, bytes.as_slice(), 1_000_000).unwrap()
}

fn values(i: &Intake) -> Vec<(Kind, &str)> {
    i.entries
        .iter()
        .map(|e| (e.observable.kind, e.observable.value.as_str()))
        .collect()
}

#[test]
fn urlhaus_keeps_online_urls_and_counts_the_rest() {
    let i = fixture("urlhaus.csv", Format::Urlhaus);
    assert_eq!(
        values(&i),
        [
            // kyojo's canonical URLs drop the port, as Safe Browsing's do.
            (Kind::Url, "http://198.51.100.45/i"),
            (Kind::Url, "https://login-update.example/wp-content/x.zip"),
            (Kind::Url, "http://login-update.example/wp-content/x.zip"),
            (Kind::Url, "http://[2001:db8::7]/a.sh"),
        ]
    );
    assert_eq!(i.entries[0].threat, "malware_download 32-bit,elf,mips,Mozi");
    assert_eq!(i.entries[0].line, 10);
    assert_eq!(i.inactive, 1, "the offline row");
    assert_eq!(i.skipped_count, 2, "{:?}", i.skipped);
    assert_eq!(i.skipped[0].line, 14);
    assert!(i.skipped[1].reason.contains("quote"), "{:?}", i.skipped);
}

#[test]
fn threatfox_maps_its_types_and_strips_ports() {
    let i = fixture("threatfox.csv", Format::Threatfox);
    assert_eq!(
        values(&i),
        [
            (Kind::Ipv4, "203.0.113.236"),
            (Kind::Domain, "c2-panel.example"),
            (Kind::Url, "http://c2-panel.example/gate.php"),
            (Kind::Md5, "44d88612fea8a8f36de82e1278abb02f"),
            (
                Kind::Sha256,
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            ),
        ]
    );
    assert_eq!(i.entries[1].threat, "botnet_cc Lumma Stealer");
    assert_eq!(i.skipped_count, 1);
    assert!(i.skipped[0].reason.contains("mutex"), "{:?}", i.skipped);
}

#[test]
fn feodo_keeps_online_c2_addresses() {
    let i = fixture("feodo.csv", Format::Feodo);
    assert_eq!(
        values(&i),
        [(Kind::Ipv4, "192.0.2.246"), (Kind::Ipv4, "203.0.113.77")]
    );
    assert_eq!(i.entries[0].threat, "botnet_cc Emotet");
    assert_eq!((i.inactive, i.skipped_count), (1, 1));
}

#[test]
fn spamhaus_drop_reads_both_the_json_and_the_text_form() {
    let json = fixture("drop_v4.json", Format::SpamhausDrop);
    assert_eq!(
        values(&json),
        [
            (Kind::Ipv4, "192.0.2.0/24"),
            (Kind::Ipv4, "198.51.100.0/24"),
            (Kind::Ipv4, "203.0.113.0/25"),
        ]
    );
    assert_eq!(json.entries[0].threat, "spamhaus-drop SBL256894");
    assert_eq!(json.skipped_count, 1);
    let text = fixture("drop.txt", Format::SpamhausDrop);
    assert_eq!(values(&text), values(&json)[..2]);
}

#[test]
fn phishtank_reads_quoted_urls_and_leaves_offline_ones() {
    let i = fixture("phishtank.csv", Format::Phishtank);
    assert_eq!(
        values(&i),
        [
            (
                Kind::Url,
                "https://secure-bank-login.example/signin?session=1"
            ),
            (Kind::Url, "http://pay.example/verify,account"),
        ]
    );
    assert_eq!(i.entries[1].threat, "phishing PayPal");
    assert_eq!(i.inactive, 1);
}

#[test]
fn openphish_and_plain_lists_read_a_value_a_line() {
    let i = fixture("openphish.txt", Format::Openphish);
    assert_eq!(
        values(&i),
        [
            (Kind::Url, "https://account-verify.example/login.php"),
            (Kind::Url, "http://203.0.113.5/bank/"),
        ]
    );
    assert_eq!((i.duplicates, i.skipped_count), (1, 1));
    let l = fixture("list.txt", Format::List);
    assert_eq!(
        values(&l),
        [
            (Kind::Domain, "evil.example"),
            (Kind::Ipv4, "198.51.100.66"),
            (Kind::Ipv6, "2001:db8::66"),
            (Kind::Url, "http://evil.example/path"),
            (Kind::Md5, "44d88612fea8a8f36de82e1278abb02f"),
        ]
    );
    assert_eq!(l.skipped_count, 1);
    assert_eq!(l.skipped[0].line, 8);
}

#[test]
fn any_csv_reads_by_its_mapping() {
    let text = "value;type;why\nevil.example;domain;phishing\n198.51.100.1;ip-dst;c2\nx;mutex;?\n";
    let m = CsvMapping {
        value: 0,
        kind: Some(1),
        threat: Some(2),
        delimiter: b';',
        skip_rows: 1,
    };
    let i = read(&Format::Csv(m), text.as_bytes(), 100).unwrap();
    assert_eq!(
        values(&i),
        [(Kind::Domain, "evil.example"), (Kind::Ipv4, "198.51.100.1")]
    );
    assert_eq!(i.entries[1].threat, "c2");
    assert_eq!(i.skipped_count, 1);
}

#[test]
fn a_read_larger_than_its_limit_stops_with_an_error() {
    let text: String = (0..20).map(|n| format!("v{n}.example\n")).collect();
    assert!(read(&Format::List, text.as_bytes(), 10).is_err());
    assert_eq!(
        read(&Format::List, text.as_bytes(), 20)
            .unwrap()
            .entries
            .len(),
        20
    );
}

#[test]
fn csv_fields_split_as_rfc_4180_and_threatfox_write_them() {
    assert_eq!(
        split_csv(r#""a","b ""c""",d"#, b',').unwrap(),
        ["a", "b \"c\"", "d"]
    );
    assert_eq!(
        split_csv(r#""a", "b", "c""#, b',').unwrap(),
        ["a", "b", "c"]
    );
    assert_eq!(split_csv("a, b", b',').unwrap(), ["a", " b"]);
    assert!(split_csv(r#""open"#, b',').is_none());
}
