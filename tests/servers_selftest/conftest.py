"""Make the loopback server fixtures available to the self-tests.

``tests/conftest.py`` may import them as well; importing twice is harmless.
"""

from tests.servers.conftest_fixtures import *  # noqa: F403
