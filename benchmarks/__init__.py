"""Benchmarks: ratios measured side by side in one run (never timed assertions in tests).

The cases run single-threaded unless BENCH_THREADS says otherwise: on a shared 2-core
machine, BLAS and OpenMP worker threads of two libraries spinning against each other made
timings swing several-fold, while these small matrices gain nothing from a second thread.
The variable is read here, before NumPy is first imported, because BLAS reads it then.
"""

import os

THREADS = os.environ.get("BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
