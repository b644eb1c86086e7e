"""Machine-checkable clause conditions (CEL) over a typed evidence schema: engine.py, pure."""
