"""What the run tells people and scripts: the report, and everything that renders it.

The report (:mod:`~asyncmig.output.report`) and the one fold that builds it
(:mod:`~asyncmig.output.fold`), the rejects file and its re-read originals
(:mod:`~asyncmig.output.rejects`, :mod:`~asyncmig.output.originals`), progress
(:mod:`~asyncmig.output.progress`, and the terminal's bar in
:mod:`~asyncmig.output.display`), the state file, the JSON report file, and the command
line's logging and summary (:mod:`~asyncmig.output.console`).

May import: the base modules and :mod:`asyncmig.source` (table names, redaction). Output
renders what the stages hand back; it never calls a stage.
"""
