"""The load: from the start of a run to its committed rows, and the ledger that makes it resumable.

:mod:`~asyncmig.load.pipeline` wires the stages (and does nothing else);
:mod:`~asyncmig.load.checks` runs every check before a run (a dry run's too);
:mod:`~asyncmig.load.start` takes the run's lock, backs up and opens the writer;
:mod:`~asyncmig.load.apply` applies one file's messages; :mod:`~asyncmig.load.batches`
groups batches into transactions; :mod:`~asyncmig.load.writer` is the single aiosqlite
connection; :mod:`~asyncmig.load.ledger` owns asyncmig's checkpoint tables end to end
(their records, reading, writing, the resume plan); :mod:`~asyncmig.load.mirror` writes
the state file from what they committed.

May import: every stage below it (base, source, ipc, targets, output, safety).
"""
