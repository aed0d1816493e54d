"""sealog benchmarks: ``python -m bench [ingest|audit|proofs] [--quick]``.

See docs/benchmarks.md.
"""
