"""Loaded by Python at start-up when this folder is on PYTHONPATH: with GREENROOM_WHATIF=1, it
applies the prototype of bench/whatif/local_copy.py to every process (the portal's too)."""

import os

if os.environ.get("GREENROOM_WHATIF") == "1":
    import local_copy

    local_copy.install()
