"""Engine-neutral rule helpers, and the rules two or more domains share; each domain's own rules
are in `defs/<domain>/rules.py`."""
