#!/usr/bin/python3
"""Boot storm and cleanup for the peers, run by bench/storm.ts on the same cluster.

  nova    Nova's RBDDriver as nova-compute runs it: eventlet monkey-patched, boots in a
          GreenPool of `concurrency`; cleanup_volumes (serial by design)
  python  Ceph's python binding, one connection, `concurrency` threads: the floor

Argument: one JSON object. Prints {"boot": seconds, "cleanup": seconds} as JSON.
"""
import json
import sys

cfg = json.loads(sys.argv[1])
if cfg["mode"] == "nova":
    import eventlet
    eventlet.monkey_patch()

import logging  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import rados  # noqa: E402
import rbd  # noqa: E402

logging.disable(logging.CRITICAL)
conf, user, n_boot, n_clean, conc = cfg["conf"], cfg["user"], cfg["boot"], cfg["cleanup"], cfg["concurrency"]
prefix = cfg["prefix"]
cluster = rados.Rados(rados_id=user, conffile=conf)
cluster.connect()
gio = cluster.open_ioctx(cfg["goldPool"])
vio = cluster.open_ioctx(cfg["pool"])
api = rbd.RBD()


def clone_floor(name):
    api.clone(gio, cfg["gold"], cfg["snap"], vio, name, features=rbd.RBD_FEATURE_LAYERING)


boot_names = ["%sboot-%03d" % (prefix, i) for i in range(n_boot)]
clean_names = ["%sclean-%03d" % (prefix, i) for i in range(n_clean)]
out = {}
if cfg["mode"] == "nova":
    from nova.storage import rbd_utils
    d = rbd_utils.RBDDriver(pool=cfg["pool"], user=user, ceph_conf=conf, connect_timeout=10)
    pool = eventlet.GreenPool(conc)
    t = time.perf_counter()
    list(pool.imap(lambda n: d.clone({"url": cfg["url"]}, n, dest_pool=cfg["pool"]), boot_names))
    out["boot"] = time.perf_counter() - t
    for n in clean_names:  # setup, not timed
        clone_floor(n)
    t = time.perf_counter()
    d.cleanup_volumes(lambda n: n.startswith(prefix))
    out["cleanup"] = time.perf_counter() - t
else:
    with ThreadPoolExecutor(conc) as ex:
        t = time.perf_counter()
        list(ex.map(clone_floor, boot_names))
        out["boot"] = time.perf_counter() - t
        list(ex.map(clone_floor, clean_names))  # setup, not timed
        names = [n for n in api.list(vio) if n.startswith(prefix)]
        t = time.perf_counter()
        list(ex.map(lambda n: api.remove(vio, n), names))
        out["cleanup"] = time.perf_counter() - t
left = [n for n in api.list(vio) if n.startswith(prefix)]
if left:
    raise SystemExit("left behind: %d" % len(left))
gio.close()
vio.close()
cluster.shutdown()
print(json.dumps(out))
