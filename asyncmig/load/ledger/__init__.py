"""The checkpoint ledger: asyncmig's own two tables in the target, end to end.

``asyncmig_run`` holds the run's settings and phase (:class:`RunSettings`), and
``asyncmig_files`` every planned file in plan order: its fingerprint, how many of its
entries are committed, its rowid range and counts so far. File rows are written in the
same transaction as the rows they describe, so data and checkpoint never disagree.

Files are loaded strictly in plan order and each one's rows take consecutive rowids, so
the rows of files ``k, k+1, ...`` are exactly the rows from the smallest of their first
rowids on. That is what makes a resume exact: keep the longest prefix of the plan that is
done and unchanged, drop every row loaded after it, and load the rest as a first run would.

Owns: the tables and their typed records (:mod:`.tables`), reading them
(:mod:`.reading`), writing them through the writer (:mod:`.writing`), and the resume plan
with the refusals a ledger calls for (:mod:`.resume`). Nothing else touches the two
tables. May import: the base modules and :mod:`asyncmig.source` (the plan's files); the
writer only as a type (it runs the statements written here).
"""

from asyncmig.load.ledger.reading import Summary as Summary
from asyncmig.load.ledger.reading import read as read
from asyncmig.load.ledger.reading import summarize as summarize
from asyncmig.load.ledger.reading import summarize_committed as summarize_committed
from asyncmig.load.ledger.tables import DONE as DONE
from asyncmig.load.ledger.tables import SCHEMA as SCHEMA
from asyncmig.load.ledger.tables import Checkpoint as Checkpoint
from asyncmig.load.ledger.tables import FileRecord as FileRecord
from asyncmig.load.ledger.tables import Phase as Phase
from asyncmig.load.ledger.tables import RunSettings as RunSettings
from asyncmig.load.ledger.tables import decode_settings as decode_settings
from asyncmig.load.ledger.tables import settings_rows as settings_rows
from asyncmig.load.ledger.writing import FileRows as FileRows
from asyncmig.load.ledger.writing import plan_files as plan_files
from asyncmig.load.ledger.writing import record_settings as record_settings
from asyncmig.load.ledger.writing import sources_of as sources_of

__all__ = (
    "DONE",
    "SCHEMA",
    "Checkpoint",
    "FileRecord",
    "FileRows",
    "Phase",
    "RunSettings",
    "Summary",
    "decode_settings",
    "plan_files",
    "read",
    "record_settings",
    "settings_rows",
    "sources_of",
    "summarize",
    "summarize_committed",
)
