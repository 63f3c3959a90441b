#!/usr/bin/python3
"""The behaviour scenario run through Nova's own RBDDriver (Debian python3-nova), for
test/driver/nova-parity.test.ts to compare with ours. Prints one JSON object."""
import json
import logging
import sys

logging.disable(logging.CRITICAL)
from nova import exception  # noqa: E402
from nova.storage import rbd_utils  # noqa: E402

cfg = json.loads(sys.argv[1])
d = rbd_utils.RBDDriver(pool="vms", user=cfg["user"], ceph_conf=cfg["conf"], connect_timeout=10)
url, name, prefix = cfg["url"], cfg["name"], cfg["prefix"]
out = {}


def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as e:  # the scenario records what Nova does, errors included
        return {"error": type(e).__name__}


out["parse"] = list(d.parse_url(url))
out["parse_dash"] = attempt(lambda: list(d.parse_url(cfg["dashUrl"])))
out["parse_slash"] = attempt(lambda: list(d.parse_url(cfg["slashUrl"])))
out["cloneable_raw"] = d.is_cloneable({"url": url}, {"disk_format": "raw"})
out["cloneable_qcow2"] = d.is_cloneable({"url": url}, {"disk_format": "qcow2"})
d.clone({"url": url}, name, dest_pool="vms")
out["exists_after_clone"] = d.exists(name)
out["parent_before_flatten"] = list(d.parent_info(name))
d.resize(name, cfg["newSize"])
out["size_after_resize"] = d.size(name)
d.create_snap(name, "snap1")
d.rollback_to_snap(name, "snap1")
with rbd_utils.RBDVolumeProxy(d, name, read_only=True) as vol:
    out["snaps"] = sorted(s["name"] for s in vol.list_snaps())
d.remove_snap(name, "snap1")
d.flatten(name)
out["parent_after_flatten"] = attempt(lambda: list(d.parent_info(name)))
d.destroy_volume(name)
out["exists_after_destroy"] = d.exists(name)
out["remove_absent"] = attempt(lambda: d.remove_image(name))
for i in range(3):
    d.clone({"url": url}, "%s%d" % (prefix, i), dest_pool="vms")
d.cleanup_volumes(lambda n: n.startswith(prefix))
with rbd_utils.RADOSClient(d) as client:
    out["left_after_cleanup"] = sorted(n for n in rbd_utils.RbdProxy().list(client.ioctx) if n.startswith(prefix))
info = d.get_pool_info()
out["pool_total"] = info["total"]
out["mon"] = [list(x) for x in d.get_mon_addrs()]
out["fsid"] = d.get_fsid()
print(json.dumps(out))
