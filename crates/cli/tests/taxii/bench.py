#!/usr/bin/env python3
"""Time paging through N indicators with taxii2-client against kyojo and OASIS's medallion.

    python3 bench.py --url http://127.0.0.1:8080 --token kyj_... [--expect 5000] [--no-medallion]
    python3 bench.py --url ... --token kyj_... --seed 100000 --no-medallion   # seed first (analyst token)

Both servers are read with the same code: taxii2client.v21.as_pages(
collection.get_objects, per_request=1000, type="indicator") on the
"Community" collection of kyojo, then on the one collection of a medallion
(memory backend) started here on a free loopback port and loaded with exactly
the indicator objects kyojo served. The last line of stdout is one JSON
object with the timings and the ratio; exits non-zero if a server served a
different number of indicators than --expect (when given) or than the other.

medallion 3.0.0's memory backend filters and sorts a collection in O(n^2)
on the first page of a listing, so its time grows with the square of N
(about four minutes for 5,000 on a 2-core machine).
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import uuid

from taxii2client.v21 import ApiRoot, Collection, as_pages

from _kyojo import TAXII_MEDIA, api, request

PER_REQUEST = 1000
USER = "kyojo"
PER_REPORT = 5000  # the hub's limit of indicators in one report


def seed(url, token, n):
    """Shares n fresh domains in GREEN community reports of up to 5,000; returns seconds."""
    run = uuid.uuid4().hex[:8]
    started = time.monotonic()
    for start in range(0, n, PER_REPORT):
        count = min(PER_REPORT, n - start)
        body = {
            "title": "bench.py %s: %d-%d" % (run, start, start + count - 1),
            "description": "seeded by crates/cli/tests/taxii/bench.py",
            "incident_type": "phishing",
            "tlp": "GREEN",
            "audience": "community",
            "indicators": [{"type": "domain", "value": "bench-%s-%d.seed.example" % (run, i)}
                           for i in range(start, start + count)],
        }
        status, answer = api(url, "POST", "/reports", token, body)
        if status != 201:
            raise SystemExit("seeding: POST /api/v1/reports answered %d: %s" % (status, json.dumps(answer)[:400]))
    return time.monotonic() - started


def page_through(collection, label):
    """Page through every indicator; returns (objects in order, pages, seconds)."""
    objects = []
    ids = set()
    pages = 0
    started = time.monotonic()
    for envelope in as_pages(collection.get_objects, per_request=PER_REQUEST, type="indicator"):
        pages += 1
        for obj in envelope.get("objects", []):
            if obj["id"] in ids:
                raise SystemExit("%s: %s served twice" % (label, obj["id"]))
            ids.add(obj["id"])
            objects.append(obj)
        if pages > 100000:
            raise SystemExit("%s: runaway paging" % label)
    return objects, pages, time.monotonic() - started


def kyojo_collection(url, token):
    root = ApiRoot(url.rstrip("/") + "/taxii2/api/", user=USER, password=token)
    for c in root.collections:
        if c.title == "Community":
            return c
    raise SystemExit("kyojo: no Community collection among %r" % [c.title for c in root.collections])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def medallion_config(directory, objects, port, password):
    """Write medallion 3.0.0's memory-backend data file and its server config.

    The data file maps "/discovery" to the discovery resource and each API
    root name to {"information", "status", "collections"}; a collection holds
    its "objects" and a "manifest" with one record per object version
    ({"id", "date_added", "version", "media_type"}), which medallion uses for
    date_added, added_after and sorting.
    """
    collection_id = str(uuid.uuid4())
    start = datetime.datetime.now(datetime.timezone.utc)
    manifest = []
    for i, obj in enumerate(objects):
        manifest.append({
            "id": obj["id"],
            "date_added": stamp(start + datetime.timedelta(microseconds=i)),
            "version": obj.get("modified") or obj.get("created"),
            "media_type": "application/stix+json;version=2.1",
        })
    root_url = "http://127.0.0.1:%d/api1/" % port
    data = {
        "/discovery": {
            "title": "medallion (benchmark)",
            "description": "OASIS reference TAXII server loaded with kyojo's indicators",
            "default": root_url,
            "api_roots": [root_url],
        },
        "api1": {
            "information": {
                "title": "benchmark",
                "versions": [TAXII_MEDIA],
                "max_content_length": 104857600,
            },
            "status": [],
            "collections": [{
                "id": collection_id,
                "title": "Community",
                "description": "the same objects kyojo served",
                "can_read": True,
                "can_write": False,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": objects,
                "manifest": manifest,
            }],
        },
    }
    data_path = os.path.join(directory, "medallion-data.json")
    with open(data_path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": data_path,
            # A listing's `next` lives this long after its first page (seconds).
            "session_timeout": 3600,
        },
        "users": {USER: password},
        "taxii": {"max_page_size": PER_REQUEST},
    }
    config_path = os.path.join(directory, "medallion-config.json")
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    return config_path, root_url, collection_id


def start_medallion(config_path, port, password, log):
    exe = shutil.which("medallion")
    if exe:
        cmd = [exe]
    else:
        cmd = [sys.executable, "-c", "from medallion.scripts.run import main; main()"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "WARN", config_path]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("medallion exited with %s at start; see %s" % (proc.returncode, log.name))
        try:
            r = request("GET", "http://127.0.0.1:%d/taxii2/" % port, basic=(USER, password),
                        headers={"Accept": TAXII_MEDIA}, timeout=5)
            if r.status == 200:
                return proc
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("medallion did not answer within 60 s; see %s" % log.name)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="the kyojo hub")
    p.add_argument("--token", required=True, help="a token that reads the indicators")
    p.add_argument("--expect", type=int, help="the number of indicators kyojo must serve")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="first share N new domains through the REST API (needs an analyst token)")
    p.add_argument("--no-medallion", action="store_true", help="time kyojo only")
    p.add_argument("--keep", action="store_true", help="keep medallion's config and data (printed)")
    a = p.parse_args()

    result = {"per_request": PER_REQUEST, "filter": "match[type]=indicator"}
    ok = True

    if a.seed:
        secs = seed(a.url, a.token, a.seed)
        result["seeded"] = {"indicators": a.seed, "seconds": round(secs, 3)}
        print("seeded:    %d indicators in %.2f s" % (a.seed, secs), flush=True)

    col = kyojo_collection(a.url, a.token)
    objects, pages, secs = page_through(col, "kyojo")
    result["kyojo"] = {"objects": len(objects), "pages": pages, "seconds": round(secs, 3),
                       "objects_per_second": round(len(objects) / secs) if secs else None}
    print("kyojo:     %d indicators in %d pages, %.2f s" % (len(objects), pages, secs), flush=True)
    if a.expect is not None and len(objects) != a.expect:
        print("kyojo served %d indicators, expected %d" % (len(objects), a.expect), file=sys.stderr)
        ok = False

    if not a.no_medallion:
        try:
            import medallion  # noqa: F401
        except ImportError:
            print("medallion is not installed: pip install -r requirements.txt", file=sys.stderr)
            result["medallion"] = None
        else:
            directory = tempfile.mkdtemp(prefix="kyojo-medallion-")
            port = free_port()
            password = uuid.uuid4().hex
            config_path, root_url, collection_id = medallion_config(directory, objects, port, password)
            log = open(os.path.join(directory, "medallion.log"), "w")
            proc = start_medallion(config_path, port, password, log)
            try:
                mcol = Collection(root_url + "collections/%s/" % collection_id, user=USER, password=password)
                mobjects, mpages, msecs = page_through(mcol, "medallion")
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                log.close()
            result["medallion"] = {"objects": len(mobjects), "pages": mpages, "seconds": round(msecs, 3),
                                   "objects_per_second": round(len(mobjects) / msecs) if msecs else None}
            print("medallion: %d indicators in %d pages, %.2f s" % (len(mobjects), mpages, msecs), flush=True)
            if len(mobjects) != len(objects):
                print("medallion served %d indicators, kyojo %d" % (len(mobjects), len(objects)), file=sys.stderr)
                ok = False
            elif {o["id"] for o in mobjects} != {o["id"] for o in objects}:
                print("medallion and kyojo served different ids", file=sys.stderr)
                ok = False
            if secs:
                result["ratio_medallion_over_kyojo"] = round(msecs / secs, 2)
            if a.keep:
                print("medallion config: %s" % config_path)
            else:
                shutil.rmtree(directory, ignore_errors=True)

    print(json.dumps(result), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
