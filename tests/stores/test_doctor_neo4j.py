"""doctor against the real Neo4j server of the store tests (the session fixture of tests/stores/conftest.py):
ok, and a wrong password is told apart from an unreachable server."""

from __future__ import annotations

from localmind.config import Settings
from localmind.observability import doctor
from tests.stores.conftest import Neo4jEndpoint


def settings_for(endpoint: Neo4jEndpoint, **graph: object) -> Settings:
    values = {"backend": "neo4j", "uri": endpoint.uri, "user": endpoint.user, "password": endpoint.password}
    return Settings.model_validate({"graph": {**values, **graph}})


def test_doctor_reports_ok_against_a_real_neo4j(neo4j_server: Neo4jEndpoint) -> None:
    result = doctor.neo4j_check(settings_for(neo4j_server))
    assert result.status == "ok", result
    assert "answers" in result.detail and neo4j_server.password not in str(result.to_json())
    # Another user, so the failed login does not count against the neo4j user's lockout.
    refused = doctor.neo4j_check(settings_for(neo4j_server, user="doctor-test", password="definitely-wrong-77"))
    assert refused.status == "fail" and "refused the credentials" in refused.detail
    assert "graph.user" in refused.fix and "definitely-wrong-77" not in str(refused.to_json())
