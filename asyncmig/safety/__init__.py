"""Safety: what keeps a run from harming anything before and around the load.

The refusals before the run (:mod:`~asyncmig.safety.refusals`), the space a run needs
(:mod:`~asyncmig.safety.space`), the lock that keeps a second run off a database
(:mod:`~asyncmig.safety.lock`), the verified backup of the data root and the old database
(:mod:`~asyncmig.safety.backup`), reading a backup back and restoring it
(:mod:`~asyncmig.safety.restore`), the rollback command (:mod:`~asyncmig.safety.rollback`),
and the crash points the fault-injection tests kill a real run at
(:mod:`~asyncmig.safety.faults`).

May import: the base modules (errors, options, results, storage), :mod:`asyncmig.source`
(the plan), :mod:`asyncmig.targets`. Never the load: the load calls these, not the reverse.
"""
