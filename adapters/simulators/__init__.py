"""Simulators of the cities' systems: real servers on loopback for tests and demos.

:mod:`adapters.simulators.http` is the shared base (threaded stdlib server with fault injection);
one module per protocol subclasses it.
"""

from adapters.simulators.http import Fault, SimRequest, SimResponse, SimulatorServer, json_response

__all__ = ["Fault", "SimRequest", "SimResponse", "SimulatorServer", "json_response"]
