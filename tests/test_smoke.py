from tests.conftest import Api


def test_health_answers_ok_with_the_schema_revision(api: Api) -> None:
    response = api.get("/api/v1/health", who=None)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "schema_revision": "0001"}
