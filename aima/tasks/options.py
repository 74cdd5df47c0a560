"""The options every AIMA task shares.

Results are reused through the stage-run ledger (keyed by content, purged with the case), not
through Prefect's result cache: hence ``NO_CACHE`` and no persisted results. Only transient errors
are retried (:func:`aima.tasks.retry.retry_transient`), never bad input.
"""

from prefect.cache_policies import NO_CACHE

from aima.tasks.retry import retry_transient

TASK_OPTIONS = dict(
    retries=3, retry_delay_seconds=[1, 5, 20], retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE, persist_result=False,
)
