#!/usr/bin/python3
"""Benchmark peers, run by bench/latency.ts on the same cluster in the same run.

  nova    OpenStack Nova's RBDDriver (Debian python3-nova), as Nova calls it
  python  Ceph's python rbd binding with one persistent connection: the floor

Reads one JSON object from argv[1]; prints {"op": [milliseconds, ...]} as JSON on stdout.
"""
import json
import sys
import time

cfg = json.loads(sys.argv[1])
mode, conf, user, n, n_slow = cfg["mode"], cfg["conf"], cfg["user"], cfg["iterations"], cfg["slowIterations"]
gold_pool, gold, snap, vms, existing = cfg["goldPool"], cfg["gold"], cfg["snap"], cfg["pool"], cfg["existing"]
url = cfg["url"]
results = {}


def timed(name, count, fn):
    out = []
    for i in range(count):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000.0)
    results[name] = out


if mode == "nova":
    import logging
    logging.disable(logging.CRITICAL)
    from nova.storage import rbd_utils
    driver = rbd_utils.RBDDriver(pool=vms, user=user, ceph_conf=conf, connect_timeout=10)
    timed("exists", n, lambda i: driver.exists(existing))
    timed("open+size", n, lambda i: driver.size(existing))

    def snap_cycle(i):
        driver.create_snap(existing, "bench-snap")
        driver.remove_snap(existing, "bench-snap")
    timed("snapshot create+remove", n_slow, snap_cycle)

    def clone_cycle(i):
        name = "bench-nova-clone-%d-%d" % (cfg["round"], i)
        driver.clone({"url": url}, name, dest_pool=vms)
        driver.remove_image(name)
    timed("clone+remove", n_slow, clone_cycle)
elif mode == "python":
    import rados
    import rbd
    cluster = rados.Rados(rados_id=user, conffile=conf)
    cluster.connect()
    io = cluster.open_ioctx(vms)
    gio = cluster.open_ioctx(gold_pool)
    api = rbd.RBD()

    def exists(i):
        try:
            with rbd.Image(io, existing, read_only=True):
                pass
        except rbd.ImageNotFound:
            pass
    timed("exists", n, exists)

    def size(i):
        with rbd.Image(io, existing, read_only=True) as img:
            img.size()
    timed("open+size", n, size)

    def snap_cycle(i):
        with rbd.Image(io, existing) as img:
            img.create_snap("bench-snap")
            img.remove_snap("bench-snap")
    timed("snapshot create+remove", n_slow, snap_cycle)

    def clone_cycle(i):
        name = "bench-py-clone-%d-%d" % (cfg["round"], i)
        api.clone(gio, gold, snap, io, name, features=rbd.RBD_FEATURE_LAYERING)
        api.remove(io, name)
    timed("clone+remove", n_slow, clone_cycle)
    gio.close()
    io.close()
    cluster.shutdown()
else:
    raise SystemExit("unknown mode %s" % mode)

print(json.dumps(results))
