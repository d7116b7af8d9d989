"""Run the benchmarks: `python -m benchmarks` runs every one (make bench); `python -m benchmarks
exports [options]`, `load`, `outbox` or `reminders` runs one (see README, "Benchmarks")."""

import sys

from benchmarks import exports, load, outbox, reminders

BENCHMARKS = {"exports": exports.main, "load": load.main, "outbox": outbox.main, "reminders": reminders.main}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in BENCHMARKS:
        BENCHMARKS[sys.argv[1]](sys.argv[2:])
    else:
        for run in BENCHMARKS.values():
            run([])
