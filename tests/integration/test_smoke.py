"""The app starts on both databases and its migrations match its models."""


def test_health_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}


def test_migrations_match_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from marketplace.extensions import db
    from marketplace.models import include_for_dialect

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_for_dialect(conn.dialect.name)})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
