#!/usr/bin/python3
"""Runs one command (argv, no shell) and prints its wall time and peak RSS as JSON."""
import json
import resource
import subprocess
import sys
import time

t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": wall, "maxRssKb": rss_kb, "rc": p.returncode, "stderr": p.stderr.decode()[-500:]}))
