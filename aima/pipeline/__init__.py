"""Plumbing every stage shares: the stage-run ledger, the stage runner and its outcome, jobs,
sources, scratch space and the presigned-URL executor for compute away from the stores."""
