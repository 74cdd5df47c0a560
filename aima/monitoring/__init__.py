"""AIMA's own figures for Prometheus: read from the metadata store, served on /metrics.

The figures are what AIMA itself knows and no service exporter can see: media analysed and
failed (by error code), stage durations, the queue of file jobs not yet started, GPU seconds and
spend by pool, whether AIMA can reach each of its four stores, and the rented GPU machines alive
at each provider with those that no flow run needs. They are read from the store on every
scrape, so the exporter keeps no state of its own and any number of them can run; only the GPU
machines are listed at the providers less often (once a minute by default) and kept meanwhile.

* :mod:`aima.monitoring.figures` - the SQL that counts (plain Python, no Prometheus)
* :mod:`aima.monitoring.stores` - one reachability check per store
* :mod:`aima.monitoring.gpu_instances` - the rented GPU machines and their orphans, by provider
* :mod:`aima.monitoring.collector` - the figures as Prometheus metric families
* :mod:`aima.monitoring.exporter` - ``python -m aima.monitoring.exporter``: the HTTP server
"""
