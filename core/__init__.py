"""The small core every process of rtap imports: the typed settings contract, the one
loader of a stack's settings, the settings-file hand-off to child processes and
containers, and structured logging.

It knows no section of the settings and no workload: `workloads` builds on it, and a
workload image holds `workloads/` and `core/` alone.
"""
