"""Library behind the homework's DVC pipeline.

It knows tensors, arrays and paths handed to it; it never reads ``params.yaml``.
"""
