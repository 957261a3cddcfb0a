"""Local emulators of the services Rapport talks to, served over real HTTP for tests.

Import the fixture into a test module to use it: ``from tests.emulators import graph_fixture``.
"""

from tests.emulators.graph import GraphEmulator, RecordedRequest, graph_fixture
from tests.emulators.mailstore import Recurrence
from tests.emulators.subscriptions import Delivery

__all__ = ["Delivery", "GraphEmulator", "RecordedRequest", "Recurrence", "graph_fixture"]
