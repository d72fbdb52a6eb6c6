"""airbyte-cdk's standard tests for the destination, run in process against an emulated org started for the class."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase
from salesforce_emulator.testing import Emulator

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]


class TestDestinationSalesforceStandard(DestinationTestSuiteBase):
    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        # Load each committed config into the scenario, so that the fixture below can aim it at the test org.
        root = cls.get_connector_root_dir()
        return [
            s.model_copy(update={"config_dict": s.get_config_dict(connector_root=root, empty_if_missing=True)})
            for s in super().get_scenarios()
        ]

    @pytest.fixture(scope="class")
    @classmethod
    def emulated_org(cls) -> Iterator[Emulator]:
        with Emulator(seed="demo", records=5) as org:
            yield org

    @pytest.fixture(autouse=True)
    def _config_points_at_emulated_org(self, request: pytest.FixtureRequest, emulated_org: Emulator) -> None:
        # The committed configs name `make emulator` (port 8443); this run's org listens on a free port.
        if "scenario" in request.fixturenames:
            config = request.getfixturevalue("scenario").config_dict
            if config and "credentials" in config:
                config["credentials"]["login_url"] = emulated_org.url
