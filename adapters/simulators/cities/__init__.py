"""Simulators of the 18 LGNet cities' systems: which systems each city has, and how they write.

The catalogue (``catalogue.yaml``, read by :mod:`.catalogue`) describes every city's sources:
kind, layout, operator, local code styles, authentication, paging, CSV quirks. The modules
named after what they speak render a ground-truth record in a source's shape: :mod:`.soap`
(the case-file WSDL), :mod:`.rest` (JSON API layouts), :mod:`.csv` (export drops),
:mod:`.fhir` (FHIR R4 resources), :mod:`.anpr` (the registry residence check);
:mod:`.systems` answers per source which records it holds and under which ids, and
:mod:`.servers` starts one. :class:`adapters.simulators.fleet.Fleet` starts them all.
"""

from adapters.simulators.cities.catalogue import SourceSpec, cities, source, sources
from adapters.simulators.cities.servers import RunningSource, start_source
from adapters.simulators.cities.systems import carried, record_id, render, sample, served
from adapters.simulators.cities.vocabulary import CODELISTS, Vocabulary

__all__ = [
    "CODELISTS",
    "RunningSource",
    "SourceSpec",
    "Vocabulary",
    "carried",
    "cities",
    "record_id",
    "render",
    "sample",
    "served",
    "source",
    "sources",
    "start_source",
]
