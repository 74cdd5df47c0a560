"""Model adapters behind one :class:`~aima.models.base.Model` base and a (kind, profile) factory
(:func:`aima.models.factory.load_model`). Adapters import the plain domain code of
:mod:`aima.speech`; the domain code never imports a model."""
