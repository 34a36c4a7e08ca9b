"""Speed benchmarks against peers (``make bench``); not collected by the normal test suite."""
