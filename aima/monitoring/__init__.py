"""AIMA's own figures for Prometheus: read from the metadata store, served on /metrics.

The figures are what AIMA itself knows and no service exporter can see: media analysed and
failed (by error code), stage durations, the queue of file jobs not yet started, and whether
AIMA can reach each of its four stores. They are read from the store on every scrape, so the
exporter keeps no state of its own and any number of them can run.

* :mod:`aima.monitoring.figures` - the SQL that counts (plain Python, no Prometheus)
* :mod:`aima.monitoring.stores` - one reachability check per store
* :mod:`aima.monitoring.collector` - the figures as Prometheus metric families
* :mod:`aima.monitoring.exporter` - ``python -m aima.monitoring.exporter``: the HTTP server
"""
