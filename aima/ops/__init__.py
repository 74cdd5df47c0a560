"""Running AIMA's Prefect side on one machine: child-process supervision for ``aima serve`` and
screenshots of the Prefect UI."""
