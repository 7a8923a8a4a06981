"""The jobs worker: passes, time travel, concurrency, crashes, signals, `make run`."""
