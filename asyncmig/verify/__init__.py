"""verify: re-read the source through the migration's own stages and compare the database.

:mod:`~asyncmig.verify.run` drives it, :mod:`~asyncmig.verify.database` holds the
read-only connection (which leaves no file beside the database) and the row comparisons,
:mod:`~asyncmig.verify.derive` derives what each table must hold from the source's rows
(duplicates, colliders, superseded states, folded links), :mod:`~asyncmig.verify.settle`
gives the colliders their new ids once the whole source is read and checks what waited,
:mod:`~asyncmig.verify.schema` what a migration makes and how the schema differs from it,
:mod:`~asyncmig.verify.result` what was found and its summary.

May import: every stage below it; it reads the ledger's settings from
:mod:`asyncmig.load.ledger` and writes nothing anywhere.
"""
