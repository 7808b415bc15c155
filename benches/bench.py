#!/usr/bin/env python3
"""kubectl-sts benchmarks against a standalone sts-sim, side by side with real kubectl.

Run through scripts/bench (it builds the release binaries once and passes their paths).
Each figure starts its own sts-sim, so one figure's state never leaks into the next.

Timing: wall time from spawn to exit (time.perf_counter around fork/exec and
os.wait4), peak RSS from the child's rusage (ru_maxrss, the same number as
/usr/bin/time's "Maximum resident set size"). A/B pairs alternate (A B, B A, A B, ...)
after one untimed warm-up of each, so drift on the shared machine hits both sides.

Benchmarks, not tests: nothing here gates CI. Results go to stdout (Markdown) and to
--json.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOKEN = "sts-sim-token"
HERE = os.path.dirname(os.path.abspath(__file__))
SEED_MANIFEST = os.path.join(HERE, "..", "tests", "fixtures", "seed-003-statefulset.yaml")
SEED_CLASS = "alicloud-disk-ssd"

RESULTS = {}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------
# Processes: measured runs.
# ---------------------------------------------------------------------------------


GNU_TIME = "/usr/bin/time"
_RSS_FILE = os.path.join(tempfile.gettempdir(), f"kubectl-sts-bench-rss-{os.getpid()}")


def rss_wrap(argv):
    """Peak RSS must come from a small parent: Linux carries the pre-exec high-water mark
    of a forked child into ru_maxrss, so a child forked from this (large) Python process
    would report Python's RSS. GNU time forks from a ~2 MB process and reports %M."""
    if os.path.exists(GNU_TIME):
        return [GNU_TIME, "-f", "%M", "-o", _RSS_FILE, *argv], True
    return argv, False


def read_rss(wrapped, ru):
    if wrapped:
        with open(_RSS_FILE) as f:
            return int(f.read().split()[-1])
    return ru.ru_maxrss


def run_measured(argv, env=None, stdout=subprocess.DEVNULL):
    """Run argv once: (wall seconds, peak RSS in KiB, exit code). The GNU time wrapper
    costs both sides of a pair the same ~1 ms."""
    cmd, wrapped = rss_wrap(argv)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE if stdout is subprocess.DEVNULL else None, env=env)
    err = b""
    if p.stderr is not None:
        err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{argv!r} exited {p.returncode}: {err.decode(errors='replace')[-2000:]}")
    return wall, read_rss(wrapped, ru), p.returncode


def run_lines(argv, env=None):
    """Run argv once, timestamping each stderr line on arrival: (wall, rss KiB, [(t, line)])."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    lines = [(time.perf_counter() - t0, raw.decode(errors="replace").rstrip("\n")) for raw in p.stderr]
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{argv!r} exited {p.returncode}: {lines[-5:]}")
    return wall, ru.ru_maxrss, lines


def verify_split(side, wall, lines):
    """Split a verify run's wall time: the sim's recreate+ready (delete -> Ready seen), the
    sim's first exec into the new pod (it builds the sandbox), and the rest (our time)."""
    def t(pred, after=0.0):
        return next(x for x, l in lines if x >= after and pred(l))
    if side == "sts":
        deleted = t(lambda l: l.startswith("DELETE "))
        ready = t(lambda l: l.endswith(": ready (+" + l.rsplit("(+", 1)[-1]) and ": ready" in l, deleted)
        first_exec = t(lambda l: "/exec?" in l, ready)
        # -v prints a request when its response starts; the exec's stream ends when the
        # next line (the next request) is printed.
        after_exec = next((x for x, _ in lines if x > first_exec), wall)
    else:
        deleted = t(lambda l: l == "mark:delete")
        ready = t(lambda l: l == "mark:ready")
        first_exec = ready
        after_exec = t(lambda l: l == "mark:first-exec-done")
    recreate, exec1 = ready - deleted, after_exec - first_exec
    return {"wall": wall, "recreate": recreate, "first_exec": exec1, "own": wall - recreate - exec1}


def summary(xs):
    xs = sorted(xs)
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "n": len(xs), "samples": xs}


def ab(cmds, runs, env=None):
    """Alternate the commands `runs` times each (after an untimed warm-up of each)."""
    names = list(cmds)
    for n in names:
        run_measured(cmds[n], env)
    samples = {n: {"wall": [], "rss": []} for n in names}
    for i in range(runs):
        order = names if i % 2 == 0 else list(reversed(names))
        for n in order:
            wall, rss, _ = run_measured(cmds[n], env)
            samples[n]["wall"].append(wall)
            samples[n]["rss"].append(rss)
    return {n: {"wall": summary(s["wall"]), "rss_kib": summary(s["rss"])} for n, s in samples.items()}


def time_v(argv, env=None):
    """Peak RSS as /usr/bin/time -v reports it (KiB), as a cross-check; None without it."""
    if not shutil.which("time") and not os.path.exists("/usr/bin/time"):
        return None
    p = subprocess.run(["/usr/bin/time", "-v", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    m = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return int(m.group(1)) if m else None


def ms(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.2f} s"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def fmt_wall(w):
    return f"{ms(w['median'])} ({ms(w['min'])}–{ms(w['max'])})"


# ---------------------------------------------------------------------------------
# The simulated cluster.
# ---------------------------------------------------------------------------------


class SimProc:
    def __init__(self, sim_bin, args, tmp):
        self.kubeconfig = os.path.join(tmp, "kubeconfig")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sim_bin, "--kubeconfig", self.kubeconfig, *args],
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(tmp, "sim.stderr"), "wb"),
        )
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            self.stop()
            raise SystemExit(f"sts-sim did not start: {line!r}; see {tmp}/sim.stderr")
        self.start_seconds = time.perf_counter() - t0
        self.url = line.split("listening on ")[1].split()[0]

    def _req(self, method, path):
        r = urllib.request.Request(self.url + path, method=method, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(r) as resp:
            return json.loads(resp.read() or b"null")

    def clear_requests(self):
        self._req("DELETE", "/sim/requests")

    def requests(self):
        return self._req("GET", "/sim/requests")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def count_requests(reqs):
    """{"list persistentvolumeclaims": 21, ...}, API calls only (discovery apart)."""
    out = {}
    for r in reqs:
        key = f"{r['verb']} {r['resource']}" if r.get("resource") else f"discovery {r['path']}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def api_calls(counts):
    return {k: v for k, v in counts.items() if not k.startswith("discovery ")}


# ---------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------


def fig_size(a):
    size = os.path.getsize(a.sts)
    kubectl = os.path.getsize(os.path.realpath(a.kubectl))
    RESULTS["size"] = {"kubectl_sts_bytes": size, "kubectl_bytes": kubectl}
    log(f"size: kubectl-sts {size / 1e6:.2f} MB, kubectl {kubectl / 1e6:.2f} MB")


def fig_startup(a):
    env = dict(os.environ, KUBECONFIG="/dev/null")
    r = ab(
        {"kubectl-sts --help": [a.sts, "--help"], "kubectl version --client": [a.kubectl, "version", "--client"]},
        a.startup_runs,
        env,
    )
    hf = None
    if shutil.which("hyperfine"):
        out = os.path.join(a.tmp, "hyperfine-startup.json")
        subprocess.run(
            ["hyperfine", "-N", "--warmup", "3", "--runs", str(a.startup_runs), "--export-json", out,
             f"{a.sts} --help", f"{a.kubectl} version --client"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True,
        )
        hf = {x["command"]: {"median": x["median"], "min": x["min"], "max": x["max"]} for x in json.load(open(out))["results"]}
    RESULTS["startup"] = {"ab": r, "hyperfine": hf}
    log("startup:", json.dumps({k: v["wall"]["median"] for k, v in r.items()}))


def orphans_shape(pvcs):
    """Namespaces for ~`pvcs` claims: per namespace 10 sets x (9 replicas + 1 scaled-in)
    + 1 claim of a deleted set = 101 claims, 11 of them orphans."""
    ns = max(1, pvcs // 100)
    return {"namespaces": ns, "statefulsets": 10, "replicas": 9, "orphans": 1,
            "pvcs": ns * 101, "orphan_claims": ns * 11, "pods": ns * 90}


def fig_orphans(a, pvcs, runs):
    shape = orphans_shape(pvcs)
    with tempfile.TemporaryDirectory(prefix="kubectl-sts-bench-") as tmp:
        sim = SimProc(a.sim, ["--seed-namespaces", str(shape["namespaces"]), "--seed-statefulsets", "10",
                              "--seed-replicas", "9", "--seed-orphans", "1"], tmp)
        try:
            kc = ["--kubeconfig", sim.kubeconfig]
            sts = [a.sts, *kc, "orphans", "-A", "-o", "json"]
            kubectl = [a.kubectl, *kc, "get", "pvc", "-A", "-o", "json"]
            # Correctness first: the figure is for a run that found every orphan.
            out = subprocess.run(sts, stdout=subprocess.PIPE, check=True).stdout
            found = json.loads(out)["totals"]["orphans"]
            if found != shape["orphan_claims"]:
                raise SystemExit(f"orphans found {found}, seeded {shape['orphan_claims']}")
            listed = len(json.loads(subprocess.run(kubectl, stdout=subprocess.PIPE, check=True).stdout)["items"])
            reqs = {}
            for name, argv in (("kubectl-sts", sts), ("kubectl", kubectl)):
                sim.clear_requests()
                run_measured(argv)
                reqs[name] = api_calls(count_requests(sim.requests()))
            r = ab({"kubectl-sts orphans -A -o json": sts, "kubectl get pvc -A -o json": kubectl}, runs)
            tv = {"kubectl-sts": time_v(sts), "kubectl": time_v(kubectl)}
            res = {"shape": shape, "pvcs_listed": listed, "sim_start_seconds": sim.start_seconds,
                   "sim_rss_kib": sim.rss_kib(), "ab": r, "requests": reqs, "time_v_rss_kib": tv}
        finally:
            sim.stop()
    RESULTS.setdefault("orphans", {})[str(shape["pvcs"])] = res
    log(f"orphans {shape['pvcs']}:", json.dumps({k: [v["wall"]["median"], v["rss_kib"]["median"]] for k, v in r.items()}))
    return res


def kubectl_apply(a, kubeconfig, manifest):
    subprocess.run([a.kubectl, "--kubeconfig", kubeconfig, "apply", "-f", "-"], input=manifest.encode(),
                   stdout=subprocess.DEVNULL, check=True)


def kubectl_wait_ready(a, kubeconfig, name, replicas):
    subprocess.run([a.kubectl, "--kubeconfig", kubeconfig, "wait", f"statefulset/{name}",
                    f"--for=jsonpath={{.status.readyReplicas}}={replicas}", "--timeout=300s"],
                   stdout=subprocess.DEVNULL, check=True)


def fig_verify(a):
    start, ready, term = 0.3, 0.5, 0.2
    known = start + ready + term
    with tempfile.TemporaryDirectory(prefix="kubectl-sts-bench-") as tmp:
        sim = SimProc(a.sim, ["--storage-class", SEED_CLASS, "--pod-start-delay", f"{int(start * 1000)}ms",
                              "--pod-ready-delay", f"{int(ready * 1000)}ms",
                              "--termination-delay", f"{int(term * 1000)}ms"], tmp)
        try:
            kc = sim.kubeconfig
            kubectl_apply(a, kc, open(SEED_MANIFEST).read())
            kubectl_wait_ready(a, kc, "web", 2)
            sts = [a.sts, "--kubeconfig", kc, "verify-persistence", "web", "--yes", "-o", "json"]
            runbook = ["bash", os.path.join(HERE, "runbook-verify.sh"), a.kubectl, kc, "web-1", "/data"]
            out = json.loads(subprocess.run(sts, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout)
            if out.get("result") != "Persisted":
                raise SystemExit(f"verify-persistence did not persist: {out.get('result')}")
            reqs = {}
            for name, argv in (("kubectl-sts", sts), ("runbook", runbook)):
                sim.clear_requests()
                run_measured(argv)
                reqs[name] = api_calls(count_requests(sim.requests()))
            # Alternating runs, each split into the sim's waits and the rest. kubectl-sts runs
            # with -v so its stderr says when it deleted, saw Ready and exec'd (a dozen lines).
            sides = {"sts": [*sts[:3], "-v", *sts[3:]], "runbook": runbook}
            splits = {"sts": [], "runbook": []}
            for n in sides:
                run_lines(sides[n])
            for i in range(a.verify_runs):
                for n in (["sts", "runbook"] if i % 2 == 0 else ["runbook", "sts"]):
                    wall, _, lines = run_lines(sides[n])
                    splits[n].append(verify_split(n, wall, lines))
            r = {"kubectl-sts verify-persistence web --yes": {"wall": summary([x["wall"] for x in splits["sts"]])},
                 "runbook (6 kubectl calls)": {"wall": summary([x["wall"] for x in splits["runbook"]])}}
            split = {n: {k: summary([x[k] for x in v]) for k in ("recreate", "first_exec", "own")} for n, v in splits.items()}
            res = {"recreate_ready_seconds": known, "delays": {"start": start, "ready": ready, "termination": term},
                   "ab": r, "split": split, "requests": reqs}
        finally:
            sim.stop()
    RESULTS["verify"] = res
    log("verify:", json.dumps({k: v["wall"]["median"] for k, v in r.items()}))


class PodWatch(threading.Thread):
    """An independent watch on the namespace's pods: when each pod was first seen Ready
    (optionally: Ready with a given revision label)."""

    def __init__(self, sim, ns):
        super().__init__(daemon=True)
        self.sim, self.ns = sim, ns
        self.ready = {}  # (name, revision) -> time.time()
        self.started = threading.Event()
        self.stop = False

    def run(self):
        url = f"{self.sim.url}/api/v1/namespaces/{self.ns}/pods?watch=1&allowWatchBookmarks=false"
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            self.started.set()
            for line in resp:
                now = time.time()
                if self.stop:
                    return
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                p = ev.get("object", {})
                if ev.get("type") not in ("ADDED", "MODIFIED") or p.get("metadata", {}).get("deletionTimestamp"):
                    continue
                conds = p.get("status", {}).get("conditions") or []
                if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                    rev = p["metadata"].get("labels", {}).get("controller-revision-hash", "")
                    self.ready.setdefault((p["metadata"]["name"], rev), now)


def parse_time(s):
    # 2026-11-22T03:05:07.301Z
    from datetime import datetime, timezone
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def follow(a, sim, ns, argv, ready_events, revision_of=None):
    """Run a following command; time each `pod/NAME <event>` line (the first of
    `ready_events` per pod) as it is read and match it to when the independent watch saw
    that pod Ready."""
    w = PodWatch(sim, ns)
    w.start()
    w.started.wait(10)
    sim.clear_requests()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1"))
    printed = {}
    lines = []
    for raw in p.stdout:
        now = time.time()
        line = raw.decode(errors="replace").rstrip("\n")
        lines.append(line)
        parts = line.split(" ")
        if len(parts) >= 3 and parts[1].startswith("pod/") and parts[2] in ready_events:
            printed.setdefault(parts[1][4:], (now, parse_time(parts[0])))
    err = p.stderr.read().decode(errors="replace")
    rc = p.wait()
    elapsed = time.perf_counter() - t0
    reqs = sim.requests()
    w.stop = True
    if rc != 0:
        raise SystemExit(f"{argv!r} exited {rc}: {err[-2000:]}")
    want_rev = revision_of() if revision_of else None
    read_lat, stamp_lat = [], []
    for pod, (read_at, stamped) in printed.items():
        seen = [t for (n, rev), t in w.ready.items() if n == pod and (want_rev is None or rev == want_rev)]
        if seen:
            read_lat.append((read_at - min(seen)) * 1000)
            stamp_lat.append((stamped - min(seen)) * 1000)
    # Requests that grow with time: any API request beyond the first of its kind (a
    # poll, a re-list, a per-object GET). Watches re-established after the server's
    # timeoutSeconds (~5 min) would show here too, at a constant rate.
    seen_kinds, repeats = set(), []
    for r in reqs:
        if not r.get("resource"):
            continue
        key = (r["verb"], r["resource"])
        if key in seen_kinds:
            repeats.append(r)
        seen_kinds.add(key)
    return {
        "elapsed_seconds": elapsed,
        "requests_total": api_calls(count_requests(reqs)),
        "requests_repeated": api_calls(count_requests(repeats)),
        "requests_per_minute": len([r for r in reqs if r.get("resource")]) / (elapsed / 60),
        "ready_lines": len(printed),
        "matched": len(read_lat),
        "latency_read_ms": summary(read_lat) if read_lat else None,
        "latency_stamped_ms": summary(stamp_lat) if stamp_lat else None,
        "sample_lines": lines[:3] + ["..."] + lines[-3:],
    }


def fig_scale_rollout(a):
    start, ready = a.pod_start_delay, a.pod_ready_delay
    with tempfile.TemporaryDirectory(prefix="kubectl-sts-bench-") as tmp:
        sim = SimProc(a.sim, ["--storage-class", SEED_CLASS, "--pod-start-delay", f"{int(start * 1000)}ms",
                              "--pod-ready-delay", f"{int(ready * 1000)}ms", "--termination-delay", "100ms"], tmp)
        try:
            kc = sim.kubeconfig
            kubectl_apply(a, kc, open(SEED_MANIFEST).read().replace("replicas: 2", "replicas: 0"))
            scale = follow(a, sim, "default", [a.sts, "--kubeconfig", kc, "scale", "web", "--replicas", "50",
                                                "--timeout", "10m"], ("ready",))
            RESULTS["scale"] = {"delays": {"start": start, "ready": ready}, **scale}
            log("scale:", json.dumps({k: scale[k] for k in ("elapsed_seconds", "requests_total", "latency_read_ms")})[:600])

            def update_revision():
                out = subprocess.run([a.kubectl, "--kubeconfig", kc, "get", "sts", "web", "-o",
                                      "jsonpath={.status.updateRevision}"], stdout=subprocess.PIPE, check=True)
                return out.stdout.decode()

            if a.rollout_cmd:
                argv = [a.sts, "--kubeconfig", kc, *a.rollout_cmd.split()]
                roll = follow(a, sim, "default", argv, a.rollout_ready_events.split(","), update_revision)
                RESULTS["rollout"] = {"command": a.rollout_cmd, "delays": {"start": start, "ready": ready}, **roll}
                log("rollout:", json.dumps({k: roll[k] for k in ("elapsed_seconds", "requests_total", "latency_read_ms")})[:600])
        finally:
            sim.stop()


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = open("/proc/meminfo").readline().split(":")[1].strip()
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], stdout=subprocess.PIPE).stdout.decode().strip()
    return {"cpu": cpu, "cpus": os.cpu_count(), "mem": mem, "kernel": platform.release(), "rustc": rustc,
            "loadavg": open("/proc/loadavg").read().split()[:3], "python": platform.python_version()}


def fig_resize(a):
    """resize of the seed's 2 claims 20Gi -> +1Gi per run, with a fixed backend delay
    (--resize-delay): kubectl sts resize vs the manual runbook (runbook-resize.sh).
    Each run grows to a new size, so every run does the whole job."""
    delay = 1.0
    with tempfile.TemporaryDirectory(prefix="kubectl-sts-bench-") as tmp:
        sim = SimProc(a.sim, ["--storage-class", SEED_CLASS, "--resize-delay", f"{int(delay * 1000)}ms"], tmp)
        try:
            kc = sim.kubeconfig
            kubectl_apply(a, kc, open(SEED_MANIFEST).read())
            kubectl_wait_ready(a, kc, "web", 2)
            size = [20]

            def argv(side):
                size[0] += 1
                if side == "sts":
                    return [a.sts, "--kubeconfig", kc, "resize", "web", "--storage", f"{size[0]}Gi", "--yes",
                            "--backup-dir", os.path.join(tmp, "backups")]
                return ["bash", os.path.join(HERE, "runbook-resize.sh"), a.kubectl, kc, "web", "disk-ssd",
                        f"{size[0]}Gi", tmp]

            reqs, walls = {}, {"sts": [], "runbook": []}
            for n in ("sts", "runbook"):
                sim.clear_requests()
                w, _, code = run_measured(argv(n))
                if code != 0:
                    raise SystemExit(f"resize ({n}) failed with exit {code}")
                reqs[n] = api_calls(count_requests(sim.requests()))
            for i in range(a.verify_runs):
                for n in (["sts", "runbook"] if i % 2 == 0 else ["runbook", "sts"]):
                    w, _, code = run_measured(argv(n))
                    if code != 0:
                        raise SystemExit(f"resize ({n}) failed with exit {code}")
                    walls[n].append(w)
            res = {"resize_delay_seconds": delay, "claims": 2,
                   "wall": {n: summary(v) for n, v in walls.items()},
                   "above_delay": {n: summary([x - delay for x in v]) for n, v in walls.items()},
                   "requests": reqs}
        finally:
            sim.stop()
    RESULTS["resize"] = res
    log("resize:", json.dumps({n: v["median"] for n, v in res["wall"].items()}), json.dumps(
        {n: sum(v.values()) for n, v in reqs.items()}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sts", required=True)
    p.add_argument("--sim", required=True)
    p.add_argument("--kubectl", required=True)
    p.add_argument("--only", default="size,startup,orphans,growth,verify,scale,resize",
                   help="comma list of: size,startup,orphans,growth,verify,scale,resize")
    p.add_argument("--runs", type=int, default=7, help="A/B pairs for orphans at 10k")
    p.add_argument("--startup-runs", type=int, default=30)
    p.add_argument("--verify-runs", type=int, default=5)
    p.add_argument("--growth", default="1000,10000,50000")
    p.add_argument("--growth-runs", type=int, default=3)
    p.add_argument("--pod-start-delay", type=float, default=0.2)
    p.add_argument("--pod-ready-delay", type=float, default=0.6)
    p.add_argument("--rollout-cmd", default="restart web --yes --timeout 10m",
                   help="kubectl-sts arguments for the 50-ordinal rollout ('' to skip)")
    p.add_argument("--rollout-ready-events", default="ready,available",
                   help="line events that mean 'this ordinal's new pod is Ready'")
    p.add_argument("--json", default="target/bench/results.json")
    p.add_argument("--report", metavar="JSON", help="only print the table of an earlier run's results")
    a = p.parse_args()
    if a.report:
        report(json.load(open(a.report)))
        return
    only = set(a.only.split(","))
    a.tmp = tempfile.mkdtemp(prefix="kubectl-sts-bench-")
    RESULTS["machine"] = machine()
    kv = subprocess.run([a.kubectl, "version", "--client", "-o", "json"], stdout=subprocess.PIPE).stdout
    RESULTS["kubectl_version"] = json.loads(kv)["clientVersion"]["gitVersion"] if kv else "?"
    if "size" in only:
        fig_size(a)
    if "startup" in only:
        fig_startup(a)
    if "orphans" in only:
        fig_orphans(a, 10_000, a.runs)
    if "growth" in only:
        for n in [int(x) for x in a.growth.split(",")]:
            if n == 10_000 and "orphans" in only:
                continue
            fig_orphans(a, n, a.growth_runs)
    if "verify" in only:
        fig_verify(a)
    if "scale" in only:
        fig_scale_rollout(a)
    if "resize" in only:
        fig_resize(a)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(RESULTS, f, indent=2)
    report(RESULTS)
    shutil.rmtree(a.tmp, ignore_errors=True)


def report(r):
    """The Markdown table docs/PERFORMANCE.md quotes."""
    out = []
    w = out.append
    m = r["machine"]
    w(f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['mem']} RAM, Linux {m['kernel']}, load {' '.join(m['loadavg'])}; "
      f"{m['rustc']}; kubectl {r['kubectl_version']}")
    w("")
    w("| Figure | kubectl-sts | peer | ratio | target | met |")
    w("|---|---|---|---|---|---|")
    if "orphans" in r:
        for n, o in sorted(r["orphans"].items(), key=lambda kv: int(kv[0])):
            s, k = o["ab"]["kubectl-sts orphans -A -o json"], o["ab"]["kubectl get pvc -A -o json"]
            ratio = s["wall"]["median"] / k["wall"]["median"]
            w(f"| orphans -A -o json, {n} PVCs ({o['shape']['pods']} pods), wall median (min–max), n={s['wall']['n']} "
              f"| {fmt_wall(s['wall'])} | `get pvc -A -o json` {fmt_wall(k['wall'])} | {ratio:.2f}× | ≤ 1.0× | "
              f"{'yes' if ratio <= 1.0 else 'no'} |")
            w(f"| orphans, {n} PVCs, peak RSS median (max) | {mib(s['rss_kib']['median'])} ({mib(s['rss_kib']['max'])}) "
              f"| {mib(k['rss_kib']['median'])} | {s['rss_kib']['median'] / k['rss_kib']['median']:.2f}× | ≤ 64 MB | "
              f"{'yes' if s['rss_kib']['max'] * 1024 <= 64e6 else 'no'} |")
            calls = o["requests"]["kubectl-sts"]
            w(f"| orphans, {n} PVCs, API calls | {sum(calls.values())}: "
              f"{', '.join(f'{v} {k}' for k, v in calls.items())} | "
              f"{sum(o['requests']['kubectl'].values())} | | fixed | see growth |")
    if "startup" in r:
        a = r["startup"]["ab"]
        s, k = a["kubectl-sts --help"]["wall"], a["kubectl version --client"]["wall"]
        ratio = s["median"] / k["median"]
        w(f"| start-up, `--help` vs `kubectl version --client`, n={s['n']} | {fmt_wall(s)} | {fmt_wall(k)} | "
          f"{ratio:.2f}× | ≤ 0.2× | {'yes' if ratio <= 0.2 else 'no'} |")
    if "size" in r:
        b = r["size"]["kubectl_sts_bytes"]
        w(f"| release binary size | {b / 1e6:.2f} MB | kubectl {r['size']['kubectl_bytes'] / 1e6:.2f} MB | "
          f"{b / r['size']['kubectl_bytes']:.2f}× | ≤ 15 MB | {'yes' if b <= 15e6 else 'no'} |")
    if "verify" in r:
        v = r["verify"]
        s, k = v["ab"]["kubectl-sts verify-persistence web --yes"]["wall"], v["ab"]["runbook (6 kubectl calls)"]["wall"]
        fixed = v["recreate_ready_seconds"]
        over, over_k = s["median"] - fixed, k["median"] - fixed
        sp, sk = v["split"]["sts"], v["split"]["runbook"]
        own, own_k = sp["own"]["median"], sk["own"]["median"]
        w(f"| verify-persistence, wall − configured recreate+ready ({fixed:.1f} s), n={s['n']} | "
          f"{ms(over)} (wall {fmt_wall(s)}) | runbook {ms(over_k)} | {over / over_k:.2f}× | ≤ 100 ms | "
          f"{'yes' if over <= 0.1 else 'no'} |")
        w(f"| verify-persistence, own time: wall − observed delete→Ready ({ms(sp['recreate']['median'])}) − first exec "
          f"into the new pod (sim builds its sandbox: {ms(sp['first_exec']['median'])}) | "
          f"{ms(own)} ({ms(sp['own']['min'])}–{ms(sp['own']['max'])}) | runbook {ms(own_k)} "
          f"(first exec {ms(sk['first_exec']['median'])}) | {own / own_k:.2f}× | ≤ 100 ms; ≤ 0.5× | "
          f"{'yes' if own <= 0.1 and own / own_k <= 0.5 else 'no'} |")
        w(f"| verify-persistence vs kubectl runbook, wall | {fmt_wall(s)} | {fmt_wall(k)} | {s['median'] / k['median']:.2f}× | "
          f"≤ 0.5× | {'yes' if s['median'] / k['median'] <= 0.5 else 'no'} |")
    for key in ("scale", "rollout"):
        if key in r:
            x = r[key]
            rep = x["requests_repeated"]
            w(f"| {key} 50 ordinals: API requests over {x['elapsed_seconds']:.0f} s | {sum(x['requests_total'].values())} "
              f"in all ({', '.join(f'{v} {k}' for k, v in x['requests_total'].items())}); "
              f"{sum(rep.values())} repeated{(' (' + ', '.join(f'{v} {k}' for k, v in rep.items()) + ')') if rep else ''}; "
              f"{x['requests_per_minute']:.1f}/min | | | constant (watches) | "
              f"{'yes' if all(k.startswith('watch ') for k in rep) else 'no'} |")
            lat = x["latency_read_ms"]
            if lat:
                w(f"| {key}: event-to-output latency, {x['matched']} ready events, median (min–max) | "
                  f"{lat['median']:.1f} ms ({lat['min']:.1f}–{lat['max']:.1f}) | | | ≤ 10 ms | "
                  f"{'yes' if lat['median'] <= 10 else 'no'} |")
    if len(r.get("orphans", {})) > 1:
        w("")
        w("| PVCs (pods, PVs) | kubectl-sts wall | per PVC | peak RSS | marginal RSS per PVC | kubectl wall | ratio | "
          "kubectl-sts lists (pages) |")
        w("|---|---|---|---|---|---|---|---|")
        prev = None
        for n, o in sorted(r["orphans"].items(), key=lambda kv: int(kv[0])):
            s, k = o["ab"]["kubectl-sts orphans -A -o json"], o["ab"]["kubectl get pvc -A -o json"]
            pvcs, rss = int(n), s["rss_kib"]["median"]
            marginal = "" if prev is None else f"{(rss - prev[1]) * 1024 / (pvcs - prev[0]):.0f} B"
            calls = o["requests"]["kubectl-sts"]
            kinds = len([c for c in calls if c.startswith("list ")])
            w(f"| {pvcs:,} ({o['shape']['pods']:,}, {pvcs:,}) | {fmt_wall(s['wall'])} | "
              f"{s['wall']['median'] / pvcs * 1e6:.0f} µs | {mib(rss)} | {marginal} | {fmt_wall(k['wall'])} | "
              f"{s['wall']['median'] / k['wall']['median']:.2f}× | {kinds} ({sum(calls.values())}) |")
            prev = (pvcs, rss)
    print("\n".join(out))


if __name__ == "__main__":
    main()
