"""The synthetic demo firm, Harbour Law: deterministic mail and calendar files (``generate``) and
the one-command demo that imports them (``run.prepare_demo``)."""
