"""Writes one MISP event with PyMISP, as a MISP instance would export it.

usage: misp_event.py  (prints the event's JSON)

Every kind of attribute kyojo keeps, a composite, a file object, and two
attributes kyojo must leave out (a comment, a value without the IDS flag).
Distribution 1 (this community) and a tlp:green tag: AMBER, the stricter.
"""
from pymisp import MISPEvent, MISPObject

event = MISPEvent()
event.info = "PyMISP phishing wave against regional banks"
event.distribution = 1
event.add_tag("tlp:green")
event.add_attribute("domain", "pymisp-phish.example", to_ids=True)
event.add_attribute("ip-dst", "198.51.100.23", to_ids=True)
event.add_attribute("domain|ip", "pymisp-c2.example|203.0.113.9", to_ids=True)
event.add_attribute("url", "http://pymisp-phish.example/login", to_ids=True)
event.add_attribute("sha256", "b" * 64, to_ids=True)
event.add_attribute("email-src", "ceo@pymisp-phish.example", to_ids=True)
event.add_attribute("comment", "seen by three members", to_ids=False)
event.add_attribute("domain", "context-only.example", to_ids=False)
sample = MISPObject("file")
sample.add_attribute("sha1", value="c" * 40, to_ids=True)
sample.add_attribute("filename", value="invoice.exe")
event.add_object(sample)
print(event.to_json())
