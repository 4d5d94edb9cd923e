"""Speed benchmarks run by `make bench`; results are reported in docs/benchmarks.md."""
