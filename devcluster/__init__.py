"""Development parts shared by make, the tests and the benchmarks; not shipped in the wheel."""
