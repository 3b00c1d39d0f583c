"""Benchmarks of the bank warehouse (`python -m bench.run --what ...`); results go to .bench/results.json."""
