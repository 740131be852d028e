"""Running the engine: the jobs on APScheduler (scheduler.py), the console's engine thread
(runner.py, in_process.py), the headless worker (worker.py), and the heap trim of long runs
(heap.py)."""
