"""The process boundary: parser processes, the pipes to them, and files handed over in order.

The framing of messages on the pipes (:mod:`~asyncmig.ipc.wire`), the parser process's
loop (:mod:`~asyncmig.ipc.worker`, run as ``python -m asyncmig.ipc.worker``), the main
process's end of it (:mod:`~asyncmig.ipc.client`), and
:func:`~asyncmig.ipc.order.parse_in_order`, which ``migrate`` and ``verify`` both read
the source through.

May import: the base modules and :mod:`asyncmig.source`. The worker and the wire import
neither anyio nor anything of the main process's stages.
"""
