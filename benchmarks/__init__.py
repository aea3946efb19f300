"""On-demand performance harness for mockllm (see benchmarks/README.md).

Not imported by the server and not part of the test suite: run ``python -m benchmarks.run``.
"""
