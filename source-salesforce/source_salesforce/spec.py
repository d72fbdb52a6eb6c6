"""The connector specification: the packaged spec.json with the client's credentials block filled in."""

from __future__ import annotations

import json
import pkgutil
from typing import Any

from airbyte_cdk.models import ConnectorSpecification, ConnectorSpecificationSerializer
from salesforce_api.spec import advanced_auth, credentials_spec


def spec_dict() -> dict[str, Any]:
    raw = pkgutil.get_data(__package__, "spec.json")
    if raw is None:
        raise FileNotFoundError("spec.json is missing from the source_salesforce package")
    spec = json.loads(raw)
    credentials = spec["connectionSpecification"]["properties"]["credentials"]
    spec["connectionSpecification"]["properties"]["credentials"] = {**credentials_spec(), **credentials}
    spec["advanced_auth"] = advanced_auth()
    return spec


def connector_spec() -> ConnectorSpecification:
    return ConnectorSpecificationSerializer.load(spec_dict())
