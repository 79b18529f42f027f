"""Pure domain rules of the gateway: key format, message counting, quota decisions, catalog.

Nothing here does I/O; everything is unit-tested on plain data.
"""
