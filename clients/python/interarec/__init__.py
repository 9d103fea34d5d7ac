"""Python client of the InteraRec gRPC API.

``interarec.Client`` wraps the stubs generated from ``proto/interarec/v1`` (``interarec.v1``,
built with the package) for the calls a service makes most: recommending sessions fed from a
recorded folder, their events as dicts, catalogs, choice models and assortments. The raw stubs
stay reachable as ``client.tools``, ``client.catalogs``, ``client.models`` and
``client.sessions`` for everything else.
"""

from interarec.client import Client, InteraRecError, Session

__all__ = ["Client", "InteraRecError", "Session"]
