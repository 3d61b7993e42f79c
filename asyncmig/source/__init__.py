"""The reading side: what runs in the parser processes, one file at a time.

The plan of the data root (:mod:`~asyncmig.source.plan`, :mod:`~asyncmig.source.layout`),
each file's entries (:mod:`~asyncmig.source.decode`, :mod:`~asyncmig.source.scan`), each
record validated and upgraded (:mod:`~asyncmig.source.schemas`,
:mod:`~asyncmig.source.validate`) and turned into rows, rejects and notices
(:mod:`~asyncmig.source.records`), the messages that carry them
(:mod:`~asyncmig.source.messages`), and a record's original text with its secrets redacted
(:mod:`~asyncmig.source.redact`).

May import: the base modules (errors, options, results, storage) and msgspec, ijson,
xxhash. Never aiosqlite, anyio or rich: a parser process stays small.
"""
