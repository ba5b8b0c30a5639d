#!/usr/bin/env python3
"""TAXII 2.1 interoperability of a kyojo hub with OASIS's taxii2-client, stix2 and stix2-validator.

    python3 interop.py --url http://127.0.0.1:8080 --token kyj_... --sector finance \\
        --indicators 5200 --reports 5 --split 2026-11-22T10:00:00.000Z \\
        --second-indicators 1200 --second-reports 2 [--other-token kyj_... --other-sector telecom]

The hub must have been seeded beforehand (crates/cli/tests/taxii.rs does it):
`--indicators` indicator objects in `--reports` reports readable by the token,
of which `--second-indicators` in `--second-reports` reports were added after
the `--split` timestamp. Exits 0 only if every check passed.
"""

import argparse
import datetime
import json
import sys
import time
import uuid

import stix2
import stix2validator
from taxii2client.v21 import ApiRoot, Collection, Server, Status, as_pages

from _kyojo import (
    STIX_MEDIA,
    TAXII_MEDIA,
    Checks,
    CheckFailed,
    api,
    expect,
    media_type_ok,
    request,
)

PER_REQUEST = 1000
INBOX_VALUE = "inbox-test.example"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="the hub, e.g. http://127.0.0.1:8080")
    p.add_argument("--token", required=True, help="an analyst token of an organization of --sector")
    p.add_argument("--sector", required=True, help="that organization's sector slug")
    p.add_argument("--indicators", type=int, required=True, help="indicator objects the token may read")
    p.add_argument("--reports", type=int, required=True, help="report objects the token may read")
    p.add_argument("--split", required=True, help="a timestamp between the two seeding rounds")
    p.add_argument("--second-indicators", type=int, required=True)
    p.add_argument("--second-reports", type=int, required=True)
    p.add_argument("--other-token", help="a token of another organization (another sector)")
    p.add_argument("--other-sector")
    return p.parse_args()


def page_all(fn, label, expect_min=0, **filters):
    """Page through a TAXII list endpoint with taxii2-client's as_pages.

    Returns (objects by id, list of page sizes, seconds). Fails on a duplicate
    id, on a repeated `next`, or on a runaway number of pages.
    """
    objects = {}
    sizes = []
    nexts = set()
    started = time.monotonic()
    for envelope in as_pages(fn, per_request=PER_REQUEST, **filters):
        page = envelope.get("objects", [])
        sizes.append(len(page))
        expect(len(page) <= PER_REQUEST, "%s: a page of %d objects for limit=%d" % (label, len(page), PER_REQUEST))
        for obj in page:
            oid = obj.get("id")
            expect(oid, "%s: an object without id: %s" % (label, json.dumps(obj)[:200]))
            expect(oid not in objects, "%s: %s seen twice (page %d)" % (label, oid, len(sizes)))
            objects[oid] = obj
        nxt = envelope.get("next")
        if envelope.get("more"):
            expect(nxt, "%s: more=true without next" % label)
            expect(nxt not in nexts, "%s: next %r repeated: the pager would loop" % (label, nxt))
            nexts.add(nxt)
            expect(page, "%s: an empty page with more=true" % label)
        expect(len(sizes) < 10 + 10 * max(expect_min, 1), "%s: runaway paging (%d pages)" % (label, len(sizes)))
    return objects, sizes, time.monotonic() - started


def by_type(objects):
    counts = {}
    for o in objects.values():
        counts[o.get("type")] = counts.get(o.get("type"), 0) + 1
    return dict(sorted(counts.items()))


def main():
    a = parse_args()
    base = a.url.rstrip("/")
    taxii = base + "/taxii2/"
    checks = Checks("interop")
    state = {}

    # ---- discovery, API root, collections (taxii2-client) ----
    def discovery():
        server = Server(taxii, user="kyojo", password=a.token)
        expect(server.title, "discovery has no title")
        expect(len(server.api_roots) == 1, "expected one API root, got %r" % [r.url for r in server.api_roots])
        root = server.api_roots[0]
        expect(root.url.endswith("/taxii2/api/"), "API root URL %r is not …/taxii2/api/" % root.url)
        expect(server.default is not None and server.default.url == root.url,
               "default %r is not the API root" % (server.default and server.default.url))
        state["root_url"] = root.url
        return server

    server = checks.run("discovery: title, one api_root, default", discovery)

    def api_root_info():
        root = ApiRoot(state["root_url"], user="kyojo", password=a.token)
        expect(root.title, "API root has no title")
        expect(TAXII_MEDIA in root.versions, "versions %r lacks %s" % (root.versions, TAXII_MEDIA))
        expect(isinstance(root.max_content_length, int) and root.max_content_length > 0,
               "max_content_length %r" % root.max_content_length)
        return root

    if not server:
        # Go on without discovery, straight to the API root the contract names.
        state["root_url"] = base + "/taxii2/api/"
    root = checks.run("api root: title, versions, max_content_length", api_root_info)
    if root is None:
        root = ApiRoot(state["root_url"], user="kyojo", password=a.token)

    def collections():
        cols = root.collections
        titles = {c.title: c for c in cols}
        expect("Community" in titles, "no Community collection in %r" % list(titles))
        expect("Inbox" in titles, "no Inbox collection in %r" % list(titles))
        sector_title = "Sector: " + a.sector
        expect(sector_title in titles, "no %r collection in %r" % (sector_title, list(titles)))
        others = [t for t in titles if t.startswith("Sector: ") and t != sector_title]
        expect(not others, "sector collections of other sectors are listed: %r" % others)
        for title, (r, w) in {"Community": (True, False), sector_title: (True, False), "Inbox": (False, True)}.items():
            c = titles[title]
            expect((c.can_read, c.can_write) == (r, w),
                   "%s: can_read=%r can_write=%r, expected %r %r" % (title, c.can_read, c.can_write, r, w))
            uuid.UUID(c.id)  # TAXII 2.1: a collection id is a UUID
            expect(STIX_MEDIA in c.media_types, "%s media_types %r lacks %s" % (title, c.media_types, STIX_MEDIA))
        # The collection endpoint itself answers the same thing.
        again = Collection(titles["Community"].url, user="kyojo", password=a.token)
        expect(again.title == "Community" and again.id == titles["Community"].id, "GET collection differs")
        return titles["Community"], titles[sector_title], titles["Inbox"]

    cols = checks.run("collections: Community, Sector, Inbox; can_read/can_write", collections)
    if not cols:
        checks.skip("everything else", "no collections")
        checks.finish()
    community, sector, inbox = cols

    # ---- page through the whole Community collection ----
    def page_community():
        objects, sizes, secs = page_all(community.get_objects, "Community", a.indicators // PER_REQUEST)
        types = by_type(objects)
        print("      %d objects in %d pages (%s) in %.2f s: %s" % (
            len(objects), len(sizes), ",".join(map(str, sizes)), secs, json.dumps(types)))
        short = [s for s in sizes[:-1] if s != PER_REQUEST]
        if short:
            print("      note: short pages before the last: %r (taxii2-client then lowers per_request)" % short)
        expect(types.get("indicator", 0) == a.indicators,
               "%d indicator objects, the seeding created %d" % (types.get("indicator", 0), a.indicators))
        expect(types.get("report", 0) == a.reports,
               "%d report objects, the seeding created %d" % (types.get("report", 0), a.reports))
        for o in objects.values():
            expect(o.get("spec_version") == "2.1" or o.get("type") in ("bundle",),
                   "%s has spec_version %r" % (o.get("id"), o.get("spec_version")))
        state["community"] = objects
        state["first_page_size"] = sizes[0] if sizes else 0
        return objects

    objects = checks.run("Community: as_pages(per_request=1000) every object once", page_community)

    def validate_page():
        page = community.get_objects(limit=PER_REQUEST)
        objs = page.get("objects", [])
        expect(objs, "empty first page")
        results = stix2validator.validate_parsed_json(objs, stix2validator.ValidationOptions(version="2.1"))
        bad = [r for r in results if not r.is_valid]
        warnings = {}  # by the validator's check code: [count, one example]
        for r in results:
            for w in r.warnings:
                text = str(w).split(": ", 1)[-1]
                code = text.split("}", 1)[0] + "}" if text.startswith("{") else text[:40]
                entry = warnings.setdefault(code, [0, text])
                entry[0] += 1
        print("      %d objects validated, %d invalid, %d warnings" % (
            len(results), len(bad), sum(n for n, _ in warnings.values())))
        for code, (n, example) in sorted(warnings.items(), key=lambda kv: -kv[1][0]):
            print("      warning x%d, e.g. %s" % (n, example[:170]))
        for r in bad[:5]:
            print("      %s: %s" % (r.object_id, "; ".join(str(e) for e in r.errors)))
        expect(not bad, "%d of %d objects are not valid STIX 2.1 (first: %s: %s)" % (
            len(bad), len(results), bad[0].object_id if bad else "",
            "; ".join(str(e) for e in bad[0].errors) if bad else ""))
        # Every object parses with the stix2 library too.
        for o in objs:
            stix2.parse(o, allow_custom=True)

    checks.run("stix2-validator: one page of 1000 objects, no errors", validate_page)

    # ---- added_after ----
    def added_after():
        split = a.split
        later, sizes, _ = page_all(community.get_objects, "added_after", 2, added_after=split)
        types = by_type(later)
        print("      added_after=%s: %d objects: %s" % (split, len(later), json.dumps(types)))
        expect(types.get("indicator", 0) == a.second_indicators,
               "%d indicators added after %s, the second round added %d" % (
                   types.get("indicator", 0), split, a.second_indicators))
        expect(types.get("report", 0) == a.second_reports,
               "%d reports added after %s, the second round added %d" % (
                   types.get("report", 0), split, a.second_reports))
        for o in later.values():
            if o["type"] == "indicator":
                expect("r1-" not in o.get("pattern", ""), "first-round indicator after the split: %s" % o["pattern"])
        if objects:
            expect(set(later) <= set(objects), "added_after returned objects not in the full listing")
        # The page's X-TAXII-Date-Added-First is after the split (strictly).
        r = request("GET", community.url + "objects/?added_after=" + split + "&limit=5",
                    basic=("kyojo", a.token), headers={"Accept": TAXII_MEDIA})
        expect(r.status == 200, "raw added_after request: %r" % r)
        first = r.header("X-TAXII-Date-Added-First")
        expect(first, "no X-TAXII-Date-Added-First header")
        expect(parse_ts(first) > parse_ts(split), "X-TAXII-Date-Added-First %s is not after %s" % (first, split))

    checks.run("added_after: only the second round", added_after)

    # ---- match[...] filters ----
    def match_filters():
        reports, _, _ = page_all(community.get_objects, "match[type]=report", 1, type="report")
        expect(all(o["type"] == "report" for o in reports.values()),
               "match[type]=report returned %r" % by_type(reports))
        expect(len(reports) == a.reports, "%d reports, expected %d" % (len(reports), a.reports))
        both, _, _ = page_all(community.get_objects, "match[type]=indicator,report", 6,
                              type=["indicator", "report"])
        expect(by_type(both) == {"indicator": a.indicators, "report": a.reports},
               "match[type]=indicator,report gave %r" % by_type(both))
        ids = sorted(reports)[:2]
        one = community.get_objects(id=ids[0]).get("objects", [])
        expect([o["id"] for o in one] == ids[:1], "match[id]=%s gave %r" % (ids[0], [o["id"] for o in one]))
        two = community.get_objects(id=ids).get("objects", [])
        expect(sorted(o["id"] for o in two) == ids, "match[id]=a,b gave %r" % [o["id"] for o in two])
        sv = community.get_objects(type="report", spec_version="2.1").get("objects", [])
        expect(len(sv) == a.reports, "match[spec_version]=2.1 gave %d reports" % len(sv))
        sv20 = community.get_objects(type="report", spec_version="2.0").get("objects", [])
        expect(not sv20, "match[spec_version]=2.0 gave %d objects" % len(sv20))
        for v in ("first", "last", "all"):
            got = community.get_objects(id=ids[0], version=v).get("objects", [])
            expect(got and all(o["id"] == ids[0] for o in got), "match[version]=%s gave %r" % (v, got))
        version = one[0].get("modified") or one[0].get("created")
        exact = community.get_objects(id=ids[0], version=version).get("objects", [])
        expect(len(exact) == 1, "match[version]=%s gave %d objects" % (version, len(exact)))
        none = community.get_objects(id=ids[0], version="2001-01-01T00:00:00.000Z").get("objects", [])
        expect(not none, "match[version]=<no such version> gave %d objects" % len(none))

    checks.run("match[type], match[id], match[spec_version], match[version]", match_filters)

    # ---- one object, its versions, the manifest ----
    def get_object_and_versions():
        pool = objects or {}
        indicator = next((o for o in pool.values() if o["type"] == "indicator"), None)
        if indicator is None:
            indicator = community.get_objects(type="indicator", limit=1)["objects"][0]
        env = community.get_object(indicator["id"])
        got = env.get("objects", [])
        expect(len(got) == 1, "get_object gave %d objects" % len(got))
        expect(got[0] == indicator, "get_object differs from the listed object:\n%s\n%s" % (got[0], indicator))
        versions = community.object_versions(indicator["id"])
        vs = versions.get("versions", [])
        want = indicator.get("modified") or indicator.get("created")
        expect(want in vs, "versions %r lack the object's modified %r" % (vs, want))
        # An unknown object is 404.
        r = request("GET", community.url + "objects/indicator--%s/" % uuid.uuid4(),
                    basic=("kyojo", a.token), headers={"Accept": TAXII_MEDIA})
        expect(r.status == 404, "unknown object: %r" % r)
        r = request("GET", community.url + "objects/indicator--%s/versions/" % uuid.uuid4(),
                    basic=("kyojo", a.token), headers={"Accept": TAXII_MEDIA})
        expect(r.status == 404, "versions of an unknown object: %r" % r)

    checks.run("get_object by id and object_versions", get_object_and_versions)

    def manifest():
        records, sizes, secs = page_all(community.get_manifest, "manifest", a.indicators // PER_REQUEST)
        print("      %d manifest records in %d pages in %.2f s" % (len(records), len(sizes), secs))
        if objects:
            expect(set(records) == set(objects),
                   "manifest ids differ from objects: %d only in manifest, %d only in objects" % (
                       len(set(records) - set(objects)), len(set(objects) - set(records))))
        for rec in records.values():
            for field in ("id", "date_added", "version", "media_type"):
                expect(field in rec, "manifest record without %s: %r" % (field, rec))
            parse_ts(rec["date_added"])
            expect(media_type_ok(rec["media_type"], STIX_MEDIA), "media_type %r" % rec["media_type"])
            if objects and rec["id"] in objects:
                o = objects[rec["id"]]
                want = o.get("modified") or o.get("created")
                if want:
                    expect(rec["version"] == want, "%s: manifest version %r, object %r" % (rec["id"], rec["version"], want))
        # A client that polls again with added_after = the newest date_added it saw gets nothing new.
        newest = max(records.values(), key=lambda rec: parse_ts(rec["date_added"]))["date_added"]
        again = community.get_objects(added_after=newest).get("objects", [])
        expect(not again, "added_after=<newest date_added %s> gave %d objects again: %s" % (
            newest, len(again), [o["id"] for o in again[:3]]))
        only_reports = community.get_manifest(type="report").get("objects", [])
        expect(len(only_reports) == a.reports and all(r["id"].startswith("report--") for r in only_reports),
               "manifest match[type]=report gave %d records" % len(only_reports))

    checks.run("manifest: one record per object, version = modified", manifest)

    # ---- the Sector collection ----
    def sector_collection():
        objs, sizes, _ = page_all(sector.get_objects, "Sector", 2)
        types = by_type(objs)
        print("      Sector: %s: %d objects: %s" % (a.sector, len(objs), json.dumps(types)))
        expect(types.get("report", 0) >= 1, "no report in the sector collection (the seeding sent one for %s)" % a.sector)
        if objects:
            expect(set(objs) <= set(objects), "the sector collection has objects the Community does not")

    checks.run("Sector collection: readable, a subset of Community", sector_collection)

    # ---- raw HTTP: headers, media types, auth, errors (spec sections 1.6, 3, 5) ----
    def raw_http():
        basic = ("kyojo", a.token)
        acc = {"Accept": TAXII_MEDIA}
        problems = []

        def want(cond, msg):
            if not cond:
                problems.append(msg)

        r = request("GET", taxii, basic=basic, headers=acc)
        want(r.status == 200 and media_type_ok(r.header("Content-Type"), TAXII_MEDIA),
             "discovery: %r" % r)
        r = request("GET", taxii, token=a.token, headers=acc)
        want(r.status == 200, "discovery with Bearer: %r" % r)
        r = request("GET", taxii, headers=acc)
        want(r.status == 401, "discovery without credentials: expected 401, %r" % r)
        r = request("GET", taxii, basic=("kyojo", "kyj_not_a_token"), headers=acc)
        want(r.status == 401, "discovery with a wrong password: expected 401, %r" % r)
        r = request("GET", taxii, basic=basic, headers={"Accept": "application/taxii+json;version=2.0"})
        want(r.status == 406, "Accept version=2.0: expected 406 Not Acceptable, %r" % r)
        r = request("GET", taxii, basic=basic, headers={"Accept": "text/html"})
        want(r.status == 406, "Accept text/html: expected 406, %r" % r)
        r = request("GET", taxii, basic=basic, headers={"Accept": "application/taxii+json"})
        want(r.status == 200, "Accept application/taxii+json without version: %r" % r)

        url = community.url + "objects/?limit=10"
        r = request("GET", url, basic=basic, headers=acc)
        want(r.status == 200 and media_type_ok(r.header("Content-Type"), TAXII_MEDIA), "objects: %r" % r)
        env = r.json() if r.status == 200 else {}
        want(len(env.get("objects", [])) == 10, "limit=10 gave %d" % len(env.get("objects", [])))
        want(env.get("more") is True and env.get("next"), "limit=10: more/next missing: %r" % {
            k: env.get(k) for k in ("more", "next")})
        first, last = r.header("X-TAXII-Date-Added-First"), r.header("X-TAXII-Date-Added-Last")
        want(first and last, "objects page without X-TAXII-Date-Added-First/Last")
        if first and last:
            want(parse_ts(first) <= parse_ts(last), "Date-Added-First %s after Last %s" % (first, last))
        if env.get("next"):
            r2 = request("GET", community.url + "objects/?limit=10&next=" + env["next"], basic=basic, headers=acc)
            want(r2.status == 200, "next page: %r" % r2)
            f2 = r2.header("X-TAXII-Date-Added-First")
            if f2 and last:
                want(parse_ts(f2) >= parse_ts(last), "second page starts %s before the first ended %s" % (f2, last))
            ids1 = {o["id"] for o in env["objects"]}
            ids2 = {o["id"] for o in r2.json().get("objects", [])} if r2.status == 200 else set()
            want(not ids1 & ids2, "pages overlap: %r" % (ids1 & ids2))
        # Exactly `limit` objects left: more must be false (TAXII 2.1 3.7: more = "more content is available").
        r = request("GET", community.url + "objects/?match%%5Btype%%5D=report&limit=%d" % a.reports, basic=basic, headers=acc)
        env = r.json() if r.status == 200 else {}
        want(len(env.get("objects", [])) == a.reports and env.get("more") is False,
             "match[type]=report&limit=%d (all %d reports): %d objects, more=%r next=%r: a client is sent "
             "for an empty page" % (a.reports, a.reports, len(env.get("objects", [])), env.get("more"), env.get("next")))
        r = request("GET", community.url + "manifest/?limit=3", basic=basic, headers=acc)
        want(r.status == 200 and r.header("X-TAXII-Date-Added-First"), "manifest page headers: %r" % r)
        r = request("GET", community.url + "objects/?limit=100000", basic=basic, headers=acc)
        n = len(r.json().get("objects", [])) if r.status == 200 else -1
        want(r.status == 200 and 0 < n <= PER_REQUEST, "limit=100000: %d objects (%r)" % (n, r))
        r = request("GET", community.url + "objects/?next=not-a-cursor", basic=basic, headers=acc)
        want(r.status == 400, "next=not-a-cursor: expected 400, %r" % r)
        r = request("GET", community.url + "objects/?added_after=yesterday", basic=basic, headers=acc)
        want(r.status == 400, "added_after=yesterday: expected 400, %r" % r)
        r = request("GET", root.url + "collections/%s/" % uuid.uuid4(), basic=basic, headers=acc)
        want(r.status == 404, "unknown collection: expected 404, %r" % r)
        if r.status >= 400:
            want(media_type_ok(r.header("Content-Type"), TAXII_MEDIA), "error Content-Type %r" % r.header("Content-Type"))
            try:
                err = json.loads(r.body)
                want("title" in err, "error without title: %r" % err)
            except ValueError:
                problems.append("error body is not JSON: %r" % r.body[:200])
        r = request("GET", inbox.url + "objects/", basic=basic, headers=acc)
        want(r.status == 403, "GET Inbox objects (can_read false): expected 403, %r" % r)
        envelope = {"objects": []}
        r = request("POST", community.url + "objects/", basic=basic, body=envelope,
                    headers={"Accept": TAXII_MEDIA, "Content-Type": TAXII_MEDIA})
        want(r.status == 403, "POST to Community (can_write false): expected 403, %r" % r)
        r = request("POST", inbox.url + "objects/", basic=basic, body=b"hello",
                    headers={"Accept": TAXII_MEDIA, "Content-Type": "text/plain"})
        want(r.status == 415, "POST text/plain to the Inbox: expected 415, %r" % r)
        r = request("GET", root.url + "status/%s/" % uuid.uuid4(), basic=basic, headers=acc)
        want(r.status == 404, "unknown status: expected 404, %r" % r)
        expect(not problems, "\n      ".join(problems))

    checks.run("raw HTTP: media types, 401/403/404/406/415, page headers", raw_http)

    # ---- the Inbox: add_objects, status, then the REST lookup knows the value ----
    def add_to_inbox():
        indicator = stix2.Indicator(
            name="kyojo TAXII inbox test",
            description="sent by crates/cli/tests/taxii/interop.py",
            pattern="[domain-name:value = '%s']" % INBOX_VALUE,
            pattern_type="stix",
            indicator_types=["malicious-activity"],
            valid_from=datetime.datetime.now(datetime.timezone.utc),
            object_marking_refs=[stix2.TLP_GREEN],
        )
        bundle = stix2.Bundle(indicator, stix2.TLP_GREEN)
        sent = json.loads(bundle.serialize())["objects"]
        status = inbox.add_objects({"objects": sent}, wait_for_completion=False)
        print("      add_objects: status %s %s, success_count=%s, failures=%s" % (
            status.id, status.status, status.success_count, json.dumps(status.failures)[:400]))
        expect(isinstance(status, Status), "add_objects did not answer a status")
        state["status"] = status
        state["sent"] = sent
        return status

    status = checks.run("Inbox: add_objects (indicator + TLP:GREEN, stix2 library)", add_to_inbox)

    def poll_status():
        status = state["status"]
        # taxii2-client builds the status URL itself (…/status/{id}, no trailing slash).
        status.refresh()
        status.wait_until_final(poll_interval=0.2, timeout=30)
        expect(status.status == "complete", "status %r after 30 s" % status.status)
        expect(status.total_count == len(state["sent"]), "total_count %r" % status.total_count)
        expect(status.success_count == len(state["sent"]),
               "success_count %r of %d: failures %s" % (status.success_count, len(state["sent"]),
                                                        json.dumps(status.failures)))

    if status:
        checks.run("Inbox: Status.refresh()/wait_until_final until complete", poll_status)

        def status_via_api_root():
            again = root.get_status(state["status"].id)
            expect(again.status == "complete" and again.success_count == len(state["sent"]),
                   "api_root.get_status: %r %r" % (again.status, again.success_count))

        checks.run("Inbox: ApiRoot.get_status(id) (…/status/{id}/)", status_via_api_root)

        def lookup():
            s, body = api(base, "POST", "/lookup", a.token, {"values": [INBOX_VALUE]})
            expect(s == 200, "lookup: HTTP %d %s" % (s, body))
            matches = (body or {}).get("results", [{}])[0].get("matches", [])
            expect(matches, "the hub does not know %s after the Inbox accepted it: %s" % (INBOX_VALUE, body))
            ind = state["sent"][0]
            found, _, _ = page_all(community.get_objects, "inbox indicator", 1, id=ind["id"])
            expect(ind["id"] in found, "the sent indicator is not in the Community collection")
            expect(found[ind["id"]] == ind, "the sent indicator came back changed:\n%s\n%s" % (found[ind["id"]], ind))

        checks.run("Inbox: REST lookup knows the value; object readable unchanged", lookup)

    # ---- another organization (other sector) sees the community, not our sector ----
    if a.other_token:
        def other_org():
            other = ApiRoot(state["root_url"], user="kyojo", password=a.other_token)
            titles = {c.title: c for c in other.collections}
            print("      other organization's collections: %r" % sorted(
                "%s (read=%s write=%s)" % (t, c.can_read, c.can_write) for t, c in titles.items()))
            expect("Community" in titles, "no Community for the other organization")
            expect("Sector: " + a.sector not in titles, "the other organization sees Sector: %s" % a.sector)
            if a.other_sector:
                expect("Sector: " + a.other_sector in titles, "no Sector: %s" % a.other_sector)
            ind, _, _ = page_all(titles["Community"].get_objects, "other Community", 6, type="indicator")
            expected = a.indicators + (1 if status else 0)
            expect(len(ind) == expected, "the other organization reads %d indicators, expected %d" % (len(ind), expected))

        checks.run("another organization: Community, its own Sector only", other_org)

    def paging_while_written():
        before = len(page_all(community.get_objects, "before", 11)[0])
        seen = {}
        written = None
        for envelope in as_pages(community.get_objects, per_request=PER_REQUEST):
            for obj in envelope.get("objects", []):
                expect(obj["id"] not in seen, "%s seen twice while the hub was written" % obj["id"])
                seen[obj["id"]] = obj
            if written is None:
                values = ["written-while-paging-%d-%s.example" % (i, uuid.uuid4().hex[:6]) for i in range(3)]
                s, body = api(base, "POST", "/reports", a.token, {
                    "title": "written while a client pages", "incident_type": "phishing", "tlp": "GREEN",
                    "audience": "community", "indicators": [{"type": "domain", "value": v} for v in values]})
                expect(s == 201, "POST /reports: HTTP %d %s" % (s, body))
                written = values
        patterns = " ".join(o.get("pattern", "") for o in seen.values() if o["type"] == "indicator")
        missing = [v for v in written if v not in patterns]
        expect(not missing, "indicators written after the first page never showed up: %r" % missing)
        expect(len(seen) > before, "%d objects after the write, %d before" % (len(seen), before))

    checks.run("paging while the hub is written: no duplicates, new objects at the end", paging_while_written)

    def restricted_tlp():
        # README, "The sharing rules": RED is never in bulk feeds or exports, and a TAXII
        # collection is one (core::policy::Channel::Feed); AMBER+STRICT reaches its audience
        # organizations only — their own TAXII clients included — and nobody else.
        s, me = api(base, "GET", "/me", a.token)
        expect(s == 200 and (me or {}).get("organization"), "GET /api/v1/me: HTTP %d %s" % (s, me))
        own = me["organization"]
        sent = {}
        for tlp in ("RED", "AMBER+STRICT"):
            value = "tlp-%s-%s.example" % (tlp.lower().replace("+", "-"), uuid.uuid4().hex[:8])
            s, body = api(base, "POST", "/reports", a.token, {
                "title": "TLP:%s, addressed to our own organization" % tlp, "incident_type": "phishing",
                "tlp": tlp, "audience": {"orgs": [own]}, "indicators": [{"type": "domain", "value": value}]})
            expect(s == 201, "POST a TLP:%s report: HTTP %d %s" % (tlp, s, body))
            sent[tlp] = (body["id"], value)
            s, _ = api(base, "GET", "/reports/%s" % body["id"], a.token)
            expect(s == 200, "the TLP:%s report is not readable over REST by its own organization" % tlp)
        objs, _, _ = page_all(community.get_objects, community.title, 11)
        text = json.dumps(list(objs.values()))
        red_id, red_value = sent["RED"]
        expect(("report--" + red_id) not in objs and red_value not in text,
               "TLP:RED served over TAXII (report--%s, %s)" % (red_id, red_value))
        strict_id, strict_value = sent["AMBER+STRICT"]
        expect(("report--" + strict_id) in objs and strict_value in text,
               "TLP:AMBER+STRICT not served to its own audience organization over TAXII")

    checks.run("TLP:RED is never served over TAXII; AMBER+STRICT only to its audience", restricted_tlp)

    checks.finish()


def parse_ts(s):
    """RFC 3339 timestamp (any fraction digits, Z) to an aware datetime."""
    t = s.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if "." in t:
        head, rest = t.split(".", 1)
        frac = ""
        while rest and rest[0].isdigit():
            frac += rest[0]
            rest = rest[1:]
        t = head + "." + (frac + "000000")[:6] + rest
    try:
        return datetime.datetime.fromisoformat(t)
    except ValueError:
        raise CheckFailed("not an RFC 3339 timestamp: %r" % s)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
