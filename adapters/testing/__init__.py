"""Testing aids for adapter writers: the conformance kit (a pytest plugin).

See :mod:`adapters.testing.plugin`.
"""

from adapters.testing.plugin import FAULTS, AdapterConformance, secret_values, simulator_faults

__all__ = ["FAULTS", "AdapterConformance", "secret_values", "simulator_faults"]
