"""Run the benchmarks: `python -m benchmarks` runs every one (make bench); `python -m benchmarks
exports [options]`, `load`, `outbox`, `reminders`, `import-draft` or `import-budget` runs one (see
README, "Benchmarks"). `python -m benchmarks cluster` (several servers and workers, with PASS/FAIL
checks) runs only when named."""

import sys

from benchmarks import cluster, exports, import_budget, import_draft, load, outbox, reminders

BENCHMARKS = {
    "exports": exports.main,
    "load": load.main,
    "outbox": outbox.main,
    "reminders": reminders.main,
    "import-draft": import_draft.main,
    "import-budget": import_budget.main,
}
ONLY_WHEN_NAMED = {"cluster": cluster.main}

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in BENCHMARKS | ONLY_WHEN_NAMED:
        (BENCHMARKS | ONLY_WHEN_NAMED)[sys.argv[1]](sys.argv[2:])
    else:
        for run in BENCHMARKS.values():
            run([])
