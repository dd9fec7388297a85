"""The model registry: saving and loading versions, evaluation sets, the gate, rollback.

Storage of versions, metrics and aliases lives in :mod:`riskwatch.storage.models`; this package
holds the rules. Import the submodule you need (``registry.lifecycle``, ``registry.artifacts``).
"""
