from alembic.script import ScriptDirectory

from service import migrate
from tests.conftest import Api


def test_health_answers_ok_with_the_schema_revision(api: Api) -> None:
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    response = api.get("/api/v1/health", who=None)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "schema_revision": head}
