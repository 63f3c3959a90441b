#!/usr/bin/python3
"""Runs one command (argv, no shell) and prints its wall time, peak RSS and last stdout line as JSON."""
import json
import resource
import subprocess
import sys
import time

t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
out = p.stdout.decode(errors="replace").strip().splitlines()
print(json.dumps({"seconds": wall, "maxRssKb": rss_kb, "rc": p.returncode, "stderr": p.stderr.decode(errors="replace")[-500:], "out": out[-1] if out else ""}))
