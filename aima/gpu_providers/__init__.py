"""Prefect worker types for rented GPUs (RunPod, Vast.ai): offers, pricing, teardown, reaper."""
