#!/usr/bin/env python3
"""Time a firmware upgrade of a whole simulated site: N legacy Hikvision cameras
(`portcullis-sim --realistic-timing`: 90 s to write an image to flash, 120 s to restart)
upgraded by `portcullis apply` from the firmware library, one canary first, then the
rest with at most U uploads at once. The site's other hardening runs in the same apply.

Reported, from the time each JSON line arrives: the canary's verdict, the last verified
firmware step (every camera upgraded), the whole apply, and the apply's peak memory.
The floor for the upgrades is two upload-flash-restart cycles (the canary's, then the
others'), about 2 x 210 s with these timings, plus the uploads that wait their turn.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

from apply_bench import SITE, home_env, import_fleet, run

MAGIC = b"PORTCULLIS-SIM-FIRMWARE/1\n"


def write_image(path, size_mb, version):
    header = MAGIC + f"vendor: hikvision\nmodels: DS-2CD2xx2F-I\nversion: {version}\n\n".encode()
    with open(path, "wb") as f:
        f.write(header)
        left = size_mb * 1024 * 1024 - len(header)
        while left > 0:
            chunk = os.urandom(min(left, 1 << 20))
            f.write(chunk)
            left -= len(chunk)


def timed_apply(cli, env, args):
    """Run apply; the time each JSON line arrived (from the start), its peak RSS (MB)."""
    started = time.monotonic()
    proc = subprocess.Popen([cli, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, err = [], []
    t = threading.Thread(target=lambda: err.append(proc.stderr.read()))
    t.start()
    hwm = [0]

    def watch():
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm[0] = max(hwm[0], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.5)

    w = threading.Thread(target=watch)
    w.start()
    for line in proc.stdout:
        try:
            lines.append((time.monotonic() - started, json.loads(line)))
        except ValueError:
            pass
    proc.wait()
    t.join()
    w.join()
    return time.monotonic() - started, hwm[0] / 1024, lines, "".join(err)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--uploads", type=int, default=4, help="uploads at once after the canary")
    p.add_argument("--image-mb", type=int, default=32)
    p.add_argument("--cli", default="target/release/portcullis")
    p.add_argument("--sim", default="target/release/portcullis-sim")
    p.add_argument("--sim-threads", type=int, default=1)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="pc-bench-firmware-") as workdir:
        sim = subprocess.Popen(
            [a.sim, "--count", str(a.count), "--profile", "hikvision-legacy", "--ephemeral", "--no-multicast",
             "--realistic-timing", "--base-address", "127.73.0.1", "--threads", str(a.sim_threads)],
            stdout=subprocess.PIPE, text=True)
        try:
            fleet = json.loads(sim.stdout.readline())
            env = home_env(os.path.join(workdir, "site"))
            import_fleet(a.cli, env, fleet, workdir)
            image = os.path.join(workdir, "digicap.dav")
            write_image(image, a.image_mb, "V5.5.0 build 170725")
            _, _, out, err, rc = run(a.cli, env, ["firmware", "add", image])
            if rc != 0:
                sys.exit(f"firmware add failed: {out}{err}")
            wall, peak, lines, err = timed_apply(
                a.cli, env, ["apply", "--yes", "--json", "--concurrency", str(a.count),
                             "--upload-concurrency", str(a.uploads), *SITE])
        finally:
            sim.kill()
            sim.wait()
    canary = [(t, l) for t, l in lines if l.get("type") == "canary"]
    upgraded = [t for t, l in lines if l.get("type") == "progress" and l.get("event") == "step_done"
                and l.get("setting") == "firmware.version" and l.get("result", {}).get("state") == "verified"]
    summary = next((l for _, l in reversed(lines) if l.get("type") == "summary"), {})
    print(f"firmware benchmark: {a.count} legacy Hikvision cameras, {a.image_mb} MB image, "
          f"{a.uploads} uploads at once, realistic timing (flash 90 s, restart 120 s)")
    print(f"{'N':>4} {'uploads':>7} {'canary_s':>9} {'all_upgraded_s':>15} {'upgraded':>9} "
          f"{'apply_wall_s':>13} {'peak_MB':>8} {'verified':>9} {'failed':>7}")
    print(f"{a.count:>4} {a.uploads:>7} {canary[0][0] if canary else float('nan'):>9.1f} "
          f"{max(upgraded) if upgraded else float('nan'):>15.1f} {len(upgraded):>9} {wall:>13.1f} {peak:>8.0f} "
          f"{summary.get('verified', 0):>9} {summary.get('failed', 0):>7}")
    if not canary or not canary[0][1].get("passed") or len(upgraded) != a.count:
        sys.exit(f"not every camera was upgraded: canary {canary[:1]}, {len(upgraded)} upgraded\n{err[-2000:]}")


if __name__ == "__main__":
    main()
