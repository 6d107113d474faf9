"""The run loop: preparation (config -> data -> splits), the runner, one job's fit and score, the
records it leaves in the store, executors, tuning, and applying a trained translator to new data."""
