"""Run every benchmark: `python -m benchmarks` (see README, "Benchmarks")."""

from benchmarks import exports

if __name__ == "__main__":
    exports.main()
