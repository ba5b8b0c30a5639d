"""Helpers shared by the TAXII/STIX interoperability scripts (standard library only).

A `Checks` object runs named checks, keeps going after a failure where the
later checks do not depend on it, prints one line per check and a summary,
and exits non-zero if anything failed.
"""

import base64
import json
import sys
import time
import traceback
import urllib.error
import urllib.request

TAXII_MEDIA = "application/taxii+json;version=2.1"
STIX_MEDIA = "application/stix+json;version=2.1"


class CheckFailed(Exception):
    """A check's expectation was not met; the message says what and why."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


class Checks:
    def __init__(self, name):
        self.name = name
        self.passed = []
        self.failed = []
        self.started = time.monotonic()

    def run(self, label, fn, *args, **kwargs):
        """Run one check; return its value, or None if it failed."""
        t = time.monotonic()
        try:
            value = fn(*args, **kwargs)
        except CheckFailed as e:
            self._fail(label, str(e), t)
            return None
        except Exception as e:  # an exception from a client library is a finding too
            detail = "%s: %s" % (type(e).__name__, e)
            response = getattr(e, "response", None)
            if response is not None:
                body = response.text[:600] if hasattr(response, "text") else ""
                detail += "\n      response %s %s: %s" % (
                    getattr(response, "status_code", "?"),
                    getattr(getattr(response, "request", None), "url", ""),
                    body,
                )
            tb = traceback.extract_tb(sys.exc_info()[2])
            if tb:
                last = tb[-1]
                detail += "\n      at %s:%d in %s" % (last.filename, last.lineno, last.name)
            self._fail(label, detail, t)
            return None
        ms = (time.monotonic() - t) * 1000
        print("ok    %-58s %7.0f ms" % (label, ms), flush=True)
        self.passed.append(label)
        return value

    def _fail(self, label, message, t):
        ms = (time.monotonic() - t) * 1000
        print("FAIL  %-58s %7.0f ms\n      %s" % (label, ms, message), flush=True)
        self.failed.append((label, message))

    def skip(self, label, why):
        print("skip  %-58s (%s)" % (label, why), flush=True)
        self.failed.append((label, "not run: " + why))

    def finish(self):
        secs = time.monotonic() - self.started
        if self.failed:
            print("\n%s: %d checks failed:" % (self.name, len(self.failed)))
            for label, message in self.failed:
                print("  - %s: %s" % (label, message.splitlines()[0] if message else ""))
        print(
            "%s: %d passed, %d failed (%.1f s)"
            % (self.name, len(self.passed), len(self.failed), secs),
            flush=True,
        )
        sys.exit(1 if self.failed else 0)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            raise CheckFailed("not JSON (HTTP %d): %r" % (self.status, self.body[:300]))

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "HTTP %d %s %r" % (self.status, self.headers.get("Content-Type"), self.body[:300])


def request(method, url, token=None, basic=None, body=None, headers=None, timeout=120):
    """One HTTP request with urllib; never raises for HTTP status codes.

    token: sent as `Authorization: Bearer`; basic: (user, password) for HTTP Basic.
    body: bytes, str, or anything JSON-serialisable (sent as application/json
    unless headers say otherwise).
    """
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
    if token:
        hdrs["Authorization"] = "Bearer " + token
    elif basic:
        raw = ("%s:%s" % basic).encode("utf-8")
        hdrs["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


def api(base, method, path, token, body=None):
    """A kyojo REST call: (status, parsed JSON or None)."""
    r = request(method, base.rstrip("/") + "/api/v1" + path, token=token, body=body)
    try:
        parsed = json.loads(r.body.decode("utf-8")) if r.body else None
    except ValueError:
        parsed = None
    return r.status, parsed


def media_type_ok(content_type, expected):
    """True if a Content-Type names `expected` (type and version), ignoring spaces and case."""
    if not content_type:
        return False
    got = [p.strip().lower() for p in content_type.split(";")]
    want = [p.strip().lower() for p in expected.split(";")]
    return got[0] == want[0] and all(p in got for p in want[1:])
