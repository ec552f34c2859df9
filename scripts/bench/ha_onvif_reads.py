#!/usr/bin/env python3
"""Home Assistant's ONVIF client (onvif-zeep-async) doing the ONVIF reads of
`portcullis audit` on every camera of a simulator fleet file, with bounded
concurrency. Prints devices=N, failures=F and wall_seconds=S (a camera the client could
not read is counted, and the first such error told on stderr, so that a concurrency the
client cannot keep up with is a figure, not a crash). Loopback only (the peers' loopguard
is loaded).

usage: ha_onvif_reads.py FLEET.json [--concurrency N]
"""
import argparse
import asyncio
import json
import os
import sys
import time

PEERS_LIB = os.path.join(os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/peers")), "lib")
sys.path.insert(0, PEERS_LIB)
import loopguard  # noqa: E402

loopguard.install()

import logging  # noqa: E402

from onvif import ONVIFCamera  # noqa: E402

logging.getLogger().setLevel(logging.CRITICAL)

READS = ["GetDeviceInformation", "GetNetworkProtocols", "GetDiscoveryMode", "GetUsers", "GetNTP",
         "GetSystemDateAndTime", "GetIPAddressFilter", "GetServiceCapabilities", "GetCertificates"]


async def audit_one(dev, sem):
    async with sem:
        cam = ONVIFCamera(dev["address"], dev["http_port"], "admin", dev["password"], no_cache=True, adjust_time=True)
        try:
            dm = await cam.create_devicemgmt_service()
            await dm.authless_GetSystemDateAndTime()
            for op in READS:
                await getattr(dm, op)()
        finally:
            await cam.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fleet")
    ap.add_argument("--concurrency", type=int, default=50)
    a = ap.parse_args()
    devices = [d for d in json.load(open(a.fleet))["devices"] if d.get("onvif_url")]
    sem = asyncio.Semaphore(a.concurrency)
    start = time.monotonic()
    results = await asyncio.gather(*(audit_one(d, sem) for d in devices), return_exceptions=True)
    took = time.monotonic() - start
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        print(f"first failure: {failures[0]!r}", file=sys.stderr)
    print(f"devices={len(devices)}")
    print(f"failures={len(failures)}")
    print(f"wall_seconds={took:.3f}")


asyncio.run(main())
