#!/usr/bin/env python3
"""A STIX 2.1 bundle made with OASIS's stix2 library survives a kyojo import/export unchanged.

    python3 roundtrip.py --url http://127.0.0.1:8080 --token kyj_...   # an analyst token

Builds identity, TLP:GREEN marking, indicator, malware, relationship and a
report referencing them (with custom properties), POSTs the bundle to
/api/v1/stix, GETs /api/v1/reports/{id}/stix and compares every input object
with the one that came back, property by property (parsed JSON). Exits 0
only if every object came back equal.
"""

import argparse
import json
import sys
import uuid

import stix2
import stix2validator
from taxii2client.v21 import ApiRoot

from _kyojo import Checks, api, expect


def build(tag):
    """The bundle, as parsed JSON, and the value its indicator matches."""
    value = "roundtrip-%s.example" % tag
    author = stix2.Identity(
        name="Kyojo Roundtrip Test Org %s" % tag,
        identity_class="organization",
        sectors=["financial-services"],
        contact_information="soc@roundtrip.example",
    )
    marking = stix2.TLP_GREEN
    indicator = stix2.Indicator(
        created_by_ref=author,
        name="Phishing landing domain",
        description="Landing page of an SMS phishing kit; 共助テスト",
        pattern="[domain-name:value = '%s']" % value,
        pattern_type="stix",
        indicator_types=["malicious-activity"],
        valid_from="2026-11-01T00:00:00.123Z",
        valid_until="2027-02-01T00:00:00Z",
        kill_chain_phases=[{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}],
        confidence=85,
        labels=["phishing", "sms"],
        external_references=[{"source_name": "kyojo-test", "url": "https://ref.example/%s" % tag}],
        object_marking_refs=[marking],
        custom_properties={"x_kyojo_test": {"run": tag, "n": 3, "ratio": 0.25, "flags": [True, False, None],
                                            "ja": "共助"}},
    )
    malware = stix2.Malware(
        created_by_ref=author,
        name="SmishKit",
        is_family=True,
        malware_types=["dropper"],
        aliases=["smish-kit"],
        object_marking_refs=[marking],
    )
    relationship = stix2.Relationship(
        indicator, "indicates", malware,
        created_by_ref=author,
        description="the landing domain serves the kit",
        object_marking_refs=[marking],
    )
    report = stix2.Report(
        created_by_ref=author,
        name="Roundtrip %s: SMS phishing against bank customers" % tag,
        description="A report made with the stix2 Python library",
        published="2026-11-02T03:04:05.678Z",
        report_types=["threat-report"],
        object_refs=[author, indicator, malware, relationship],
        object_marking_refs=[marking],
        custom_properties={"x_kyojo_test": "report-%s" % tag, "x_kyojo_number": 12345678901},
    )
    bundle = stix2.Bundle(author, marking, indicator, malware, relationship, report, allow_custom=True)
    return json.loads(bundle.serialize()), value


def diff(a, b, path=""):
    """Human-readable differences between two parsed JSON values."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append("%s.%s missing (sent %s)" % (path, k, json.dumps(a[k], ensure_ascii=False)[:120]))
            elif k not in a:
                out.append("%s.%s added: %s" % (path, k, json.dumps(b[k], ensure_ascii=False)[:120]))
            else:
                out.extend(diff(a[k], b[k], "%s.%s" % (path, k)))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(diff(x, y, "%s[%d]" % (path, i)))
    elif a != b or type(a) is not type(b):
        out.append("%s: sent %s, got %s" % (path, json.dumps(a, ensure_ascii=False)[:120],
                                             json.dumps(b, ensure_ascii=False)[:120]))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True, help="an analyst token")
    a = p.parse_args()
    base = a.url.rstrip("/")
    checks = Checks("roundtrip")
    tag = uuid.uuid4().hex[:10]
    bundle, value = build(tag)
    sent = {o["id"]: o for o in bundle["objects"]}
    state = {}

    def valid_input():
        r = stix2validator.validate_parsed_json(bundle, stix2validator.ValidationOptions(version="2.1"))
        expect(r.is_valid, "the test's own bundle is invalid: %s" % "; ".join(str(e) for e in r.errors))

    checks.run("the bundle made with stix2 is valid STIX 2.1", valid_input)

    def post():
        s, body = api(base, "POST", "/stix", a.token, bundle)
        expect(s == 201, "POST /api/v1/stix: HTTP %d %s" % (s, json.dumps(body)[:800]))
        rid = ((body or {}).get("report") or {}).get("id")
        expect(rid, "no report.id in %s" % json.dumps(body)[:400])
        print("      imported as report %s: objects=%s indicators=%s" % (rid, body.get("objects"), body.get("indicators")))
        expect(body.get("objects") == len(sent), "objects=%r, sent %d" % (body.get("objects"), len(sent)))
        expect(body.get("indicators") == 1, "indicators=%r, sent one indicator with one value" % body.get("indicators"))
        state["id"] = rid

    checks.run("POST /api/v1/stix answers 201 with the report id", post)
    if "id" not in state:
        checks.finish()

    def get_back():
        s, body = api(base, "GET", "/reports/%s/stix" % state["id"], a.token)
        expect(s == 200, "GET /api/v1/reports/%s/stix: HTTP %d %s" % (state["id"], s, json.dumps(body)[:400]))
        expect(body.get("type") == "bundle", "not a bundle: %s" % json.dumps(body)[:200])
        got = {}
        for o in body.get("objects", []):
            expect(o["id"] not in got, "%s appears twice in the exported bundle" % o["id"])
            got[o["id"]] = o
        extra = sorted(set(got) - set(sent))
        print("      exported %d objects; not in the input: %s" % (len(got), ", ".join(extra) or "none"))
        for oid in extra:
            expect(got[oid]["type"] == "marking-definition",
                   "the export adds a %s the input did not have: %s" % (got[oid]["type"], oid))
        state["got"] = got
        return got

    got = checks.run("GET /api/v1/reports/{id}/stix answers a bundle", get_back)
    if got is not None:
        for oid, obj in sent.items():
            def same(oid=oid, obj=obj):
                expect(oid in got, "%s (%s) is missing from the export" % (oid, obj["type"]))
                d = diff(obj, got[oid])
                expect(not d, "%s changed:\n        %s" % (oid, "\n        ".join(d)))

            checks.run("%s comes back with every property equal" % obj["type"], same)

        def valid_output():
            r = stix2validator.validate_parsed_json(list(got.values()), stix2validator.ValidationOptions(version="2.1"))
            bad = [x for x in r if not x.is_valid]
            expect(not bad, "; ".join("%s: %s" % (x.object_id, [str(e) for e in x.errors]) for x in bad))
            for o in got.values():
                stix2.parse(o, allow_custom=True)

        checks.run("the exported bundle is valid STIX 2.1", valid_output)

    def lookup():
        s, body = api(base, "POST", "/lookup", a.token, {"values": [value]})
        expect(s == 200, "lookup: HTTP %d %s" % (s, body))
        matches = (body or {}).get("results", [{}])[0].get("matches", [])
        expect(matches, "the imported indicator's value %s is not known to the hub: %s" % (value, body))

    checks.run("the imported indicator's value is known to /lookup", lookup)

    def report_tlp():
        s, body = api(base, "GET", "/reports/%s" % state["id"], a.token)
        expect(s == 200, "GET /api/v1/reports/%s: HTTP %d %s" % (state["id"], s, body))
        expect(body.get("tlp") == "GREEN", "the bundle is marked TLP:GREEN (stix2.TLP_GREEN), the report is %r"
               % body.get("tlp"))

    checks.run("the report's TLP is GREEN, from the bundle's TLP:GREEN marking", report_tlp)

    def over_taxii():
        root = ApiRoot(base + "/taxii2/api/", user="kyojo", password=a.token)
        community = next(c for c in root.collections if c.title == "Community")
        for oid, obj in sent.items():
            got = community.get_objects(id=oid, version="all").get("objects", [])
            expect(len(got) == 1, "TAXII match[id]=%s&match[version]=all gave %d objects" % (oid, len(got)))
            d = diff(obj, got[0])
            expect(not d, "%s over TAXII changed:\n        %s" % (oid, "\n        ".join(d)))

    checks.run("every object reads back unchanged over TAXII (Community)", over_taxii)

    def import_again():
        s, body = api(base, "POST", "/stix", a.token, bundle)
        print("      the same bundle again: HTTP %d %s" % (s, json.dumps(body)[:300]))
        expect(s in (200, 201, 409), "HTTP %d %s" % (s, body))
        root = ApiRoot(base + "/taxii2/api/", user="kyojo", password=a.token)
        community = next(c for c in root.collections if c.title == "Community")
        for oid in sent:
            got = community.get_objects(id=oid, version="all").get("objects", [])
            versions = [o.get("modified") or o.get("created") for o in got]
            expect(len(versions) == len(set(versions)),
                   "after a second import %s is served %d times with the same version %r" % (
                       oid, len(got), versions))
            manifest = community.get_manifest(id=oid, version="all").get("objects", [])
            expect(len(manifest) == len(got), "manifest has %d records for %s, objects %d" % (
                len(manifest), oid, len(got)))

    checks.run("importing the same bundle again duplicates no object version", import_again)
    checks.finish()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
