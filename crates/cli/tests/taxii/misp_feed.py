"""Reads kyojo's MISP feed as a MISP instance would, with PyMISP.

usage: misp_feed.py BASE_URL TOKEN

Every event of manifest.json is fetched and loaded with MISPEvent().load();
its values must equal the report's indicators as the REST API gives them to
the same token, its creator must be the report's organization (the hub when
the report is anonymous to this token), its tlp: tag the report's marking,
and hashes.csv must list the MD5 of every value beside its event. Prints a
JSON summary; exits 1 on the first mismatch.
"""
import csv
import hashlib
import io
import json
import sys
import urllib.request

from pymisp import MISPEvent

base, token = sys.argv[1], sys.argv[2]


def get(path, raw=False):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
    return data.decode() if raw else json.loads(data)


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


rest = {}
cursor = None
while True:
    page = get("/api/v1/reports?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
    for r in page["reports"]:
        rest[r["id"]] = r
    cursor = page.get("next_cursor")
    if not cursor:
        break

manifest = get("/api/v1/feeds/misp/manifest.json")
if set(manifest) != set(rest):
    fail(f"manifest has {len(manifest)} events, the REST API {len(rest)} reports")

# Values actionable for this token: to_ids must say exactly that.
actionable = {row["value"] for row in csv.DictReader(io.StringIO(
    get("/api/v1/feeds/indicators.csv", raw=True)))}

expected_hashes = set()
attributes = 0
to_ids = 0
anonymous = 0
for uuid, entry in manifest.items():
    event = MISPEvent()
    event.load(get(f"/api/v1/feeds/misp/{uuid}.json"))
    report = rest[uuid]
    if str(event.uuid) != uuid:
        fail(f"{uuid}: the event says it is {event.uuid}")
    got = sorted(a.value for a in event.attributes)
    want = sorted(i["value"] for i in report["indicators"])
    if got != want:
        fail(f"{uuid}: values {got} but the report has {want}")
    if event.info != report["title"]:
        fail(f"{uuid}: info {event.info!r} but the title is {report['title']!r}")
    org = report["organization"]
    creator = event.Orgc.name
    if org is None:
        anonymous += 1
        if not creator.endswith("(kyojo hub)"):
            fail(f"{uuid}: anonymous report created by {creator!r}")
    elif creator != org["name"]:
        fail(f"{uuid}: created by {creator!r}, not {org['name']!r}")
    if entry["Orgc"]["name"] != creator:
        fail(f"{uuid}: the manifest names {entry['Orgc']['name']!r}")
    tags = {t.name for t in event.tags}
    if "tlp:" + report["tlp"].lower() not in tags:
        fail(f"{uuid}: tags {tags} lack the report's marking {report['tlp']}")
    for a in event.attributes:
        attributes += 1
        to_ids += bool(a.to_ids)
        if bool(a.to_ids) != (a.value in actionable):
            fail(f"{uuid}: {a.value} to_ids {a.to_ids} but actionable {a.value in actionable}")
        expected_hashes.add(f"{hashlib.md5(a.value.encode()).hexdigest()},{uuid}")

hashes = set(get("/api/v1/feeds/misp/hashes.csv", raw=True).splitlines())
if hashes != expected_hashes:
    fail(f"hashes.csv has {len(hashes)} lines, {len(expected_hashes)} expected")

print(json.dumps({"ok": True, "events": len(manifest), "attributes": attributes,
                  "to_ids": to_ids, "anonymous": anonymous}))
