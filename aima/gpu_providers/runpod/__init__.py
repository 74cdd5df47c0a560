"""RunPod (GraphQL): ``models.py`` wire types, ``api_client.py`` its calls, ``compute.py`` the
:class:`~aima.gpu_providers.base.Compute`."""
