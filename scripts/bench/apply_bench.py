#!/usr/bin/env python3
"""Time `portcullis apply` of the full built-in baseline on a simulated site whose
cameras take their profiles' real-world times to make keys and to reboot
(`portcullis-sim --realistic-timing`), against the critical path.

The critical path at concurrency C: each profile's chain is measured by applying one
camera of that profile alone (nothing else running); the site cannot finish before its
longest chain, nor before the sum of all chains spread over C devices in flight:
    bound = max(longest chain, sum of chains / C).
The report: wall time, bound, their ratio (goal: within 1.5x), and the apply process's
peak resident memory (from /proc, its high-water mark).

Both the simulator and the engine share this machine's cores; real cameras bring their
own CPUs, so the figures are a pessimistic bound on a real site.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

SITE = ["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"]


def start_fleet(sim, count, base, threads):
    proc = subprocess.Popen(
        [sim, "--count", str(count), "--profile", "mixed", "--ephemeral", "--no-multicast",
         "--realistic-timing", "--base-address", base, "--threads", str(threads)],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        sys.exit("the simulator printed no fleet")
    return proc, json.loads(line)


def home_env(home):
    env = dict(os.environ)
    env.update(PORTCULLIS_HOME=home, PORTCULLIS_VAULT="file",
               PORTCULLIS_VAULT_PASSPHRASE="apply benchmark only")
    return env


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (Linux /proc; USER_HZ is 100)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100
    except (OSError, IndexError, ValueError):
        return 0.0


def run(cli, env, args, peak=False, cpu=None):
    """Run the CLI; its wall time, its peak RSS in MB (when asked), its output. With
    `cpu` (a dict), its CPU seconds are put there, read just before it exits."""
    started = time.monotonic()
    proc = subprocess.Popen([cli, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Its output is read as it comes: a full pipe would stop it.
    got = {}
    readers = [threading.Thread(target=lambda k=k, s=s: got.__setitem__(k, s.read()))
               for k, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    hwm_kb = 0
    if peak:
        # Read the kernel's high-water mark while it runs (it is gone once reaped).
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm_kb = max(hwm_kb, int(line.split()[1]))
                if cpu is not None:
                    cpu["engine"] = max(cpu.get("engine", 0.0), cpu_seconds(proc.pid))
            except OSError:
                pass
            time.sleep(0.2)
    proc.wait()
    for r in readers:
        r.join()
    return time.monotonic() - started, hwm_kb / 1024, got.get("out", ""), got.get("err", ""), proc.returncode


def summary(text):
    for line in reversed(text.splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("type") == "summary":
            return doc
    return {}


def import_fleet(cli, env, fleet, workdir):
    path = os.path.join(workdir, "fleet.json")
    with open(path, "w") as f:
        json.dump({"generator": "portcullis-sim", "devices": fleet["devices"]}, f)
    _, _, out, err, rc = run(cli, env, ["inventory", "import", path])
    if rc != 0:
        sys.exit(f"import failed: {out}{err}")


def chains(cli, sim, threads, workdir):
    """Each profile's chain: one camera of it, applied alone."""
    proc, fleet = start_fleet(sim, 6, "127.71.0.1", threads)
    try:
        home = os.path.join(workdir, "chains")
        env = home_env(home)
        import_fleet(cli, env, fleet, workdir)
        out = {}
        for d in fleet["devices"]:
            if d["profile"] in out:
                continue
            device = f'{d["address"]}:{d["http_port"]}'
            wall, _, text, err, _ = run(cli, env, ["apply", "--yes", "--json", "--device", device, *SITE])
            s = summary(text)
            if s.get("failed", 1) or s.get("rolled_back", 1):
                sys.exit(f"the lone {d['profile']} camera did not apply cleanly: {s} {err}")
            out[d["profile"]] = wall
        return out
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=0, help="0: every device at once")
    p.add_argument("--cli", default="target/release/portcullis")
    p.add_argument("--sim", default="target/release/portcullis-sim")
    p.add_argument("--sim-threads", type=int, default=1)
    a = p.parse_args()
    concurrency = a.concurrency or a.count
    with tempfile.TemporaryDirectory(prefix="pc-bench-apply-") as workdir:
        chain = chains(a.cli, a.sim, a.sim_threads, workdir)
        proc, fleet = start_fleet(a.sim, a.count, "127.72.0.1", a.sim_threads)
        try:
            env = home_env(os.path.join(workdir, "site"))
            import_fleet(a.cli, env, fleet, workdir)
            cpu = {}
            sim_before = cpu_seconds(proc.pid)
            wall, peak_mb, text, err, _ = run(
                a.cli, env, ["apply", "--yes", "--json", "--concurrency", str(concurrency), *SITE], peak=True, cpu=cpu)
            cpu["sim"] = cpu_seconds(proc.pid) - sim_before
        finally:
            proc.kill()
            proc.wait()
    s = summary(text)
    total = sum(chain[d["profile"]] for d in fleet["devices"])
    longest = max(chain.values())
    bound = max(longest, total / concurrency)
    print("apply benchmark: full built-in baseline, realistic device timing (portcullis-sim --realistic-timing)")
    print("chains (one camera alone, s): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(chain.items())))
    print(f"{'N':>5} {'conc':>5} {'wall_s':>8} {'bound_s':>8} {'ratio':>6} {'peak_MB':>8} "
          f"{'engine_cpu_s':>13} {'sim_cpu_s':>10} {'verified':>9} {'rolled_back':>12} {'failed':>7}")
    print(f"{a.count:>5} {concurrency:>5} {wall:>8.1f} {bound:>8.1f} {wall / bound:>6.2f} {peak_mb:>8.0f} "
          f"{cpu.get('engine', 0):>13.1f} {cpu.get('sim', 0):>10.1f} "
          f"{s.get('verified', 0):>9} {s.get('rolled_back', 0):>12} {s.get('failed', 0):>7}")
    if s.get("devices") != a.count:
        sys.exit(f"apply did not finish every device: {s} {err[-2000:]}")


if __name__ == "__main__":
    main()
