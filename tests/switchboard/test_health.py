import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_reports_database_redis_and_worker_healthy(client, celery_worker):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["pgvector"]  # the extension is installed by migrations
    assert checks["redis"]["status"] == "ok"
    hostnames = [w["hostname"] for w in checks["workers"]["workers"]]
    assert celery_worker.chat.hostname in hostnames and celery_worker.ingest.hostname in hostnames


def test_healthz_is_503_and_names_the_missing_worker(client, settings, embedded_services):
    # Another Redis database holds no heartbeat: as if no worker were running.
    settings.REDIS_URL = settings.REDIS_URL.replace("db=0", "db=5")
    response = client.get("/healthz")
    assert response.status_code == 503
    workers = response.json()["checks"]["workers"]
    assert workers["status"] == "error"
    assert "celery -A switchboard worker" in workers["error"]


def test_healthz_reports_redis_down(client, settings, embedded_services):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "error"
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_liveness_needs_no_dependency(client):
    assert client.get("/healthz/live").json() == {"status": "ok"}
