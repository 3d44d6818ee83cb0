import uuid

import pytest
from django.conf import settings

from switchboard.tasks import round_trip

pytestmark = pytest.mark.django_db(transaction=True)


def test_real_worker_runs_a_task_against_the_test_database(celery_worker):
    token = uuid.uuid4().hex
    result = round_trip.delay(token).get(timeout=30)
    assert result["token"] == token
    assert result["database"] == settings.DATABASES["default"]["TEST"]["NAME"]


def test_tasks_are_acknowledged_late_and_requeued_when_the_worker_dies():
    # Without both, a killed worker process loses its task instead of handing it back.
    from switchboard.celery_app import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] <= 300
