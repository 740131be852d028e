"""Running the engine: the scheduler, the console's engine thread, the headless worker."""
