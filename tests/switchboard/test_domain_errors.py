"""Domain errors know nothing of HTTP; the API maps each kind to one status and one body, the
pages put its message on the form field it names."""

import pytest
from django import forms
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.pages import add_service_error
from switchboard import errors

MAPPING = [
    (errors.InvalidInput, 400, "invalid_request_error"),
    (errors.Forbidden, 403, "permission_error"),
    (errors.NotFound, 404, "not_found_error"),
    (errors.Conflict, 409, "conflict_error"),
    (errors.TooLarge, 413, "invalid_request_error"),
    (errors.Unprocessable, 422, "invalid_request_error"),
    (errors.RateLimited, 429, "rate_limit_error"),
    (errors.UpstreamFailed, 502, "api_error"),
    (errors.Unavailable, 503, "service_unavailable_error"),
    (errors.TimedOut, 504, "timeout_error"),
]


def _raising_view(error: Exception):
    class Raising(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def get(self, request):
            raise error

    return Raising.as_view()


@pytest.mark.parametrize("error_class, status, error_type", MAPPING)
def test_each_domain_error_has_one_status_and_the_openai_body(error_class, status, error_type):
    error = error_class("The spec is empty: paste one.", code="empty_spec", param="spec")
    response = _raising_view(error)(APIRequestFactory().get("/api/v1/anything"))
    assert response.status_code == status
    assert response.data == {
        "error": {"type": error_type, "code": "empty_spec", "message": "The spec is empty: paste one.", "param": "spec"}
    }


def test_subclasses_inherit_their_parents_status():
    class DuplicateName(errors.Conflict):
        pass

    response = _raising_view(DuplicateName("Taken.", code="duplicate_name"))(APIRequestFactory().get("/api/x"))
    assert response.status_code == 409


def test_retry_after_and_details_reach_the_client():
    error = errors.RateLimited("Slow down.", code="rate_limited", retry_after=2.4, details={"limit": 60})
    response = _raising_view(error)(APIRequestFactory().get("/api/x"))
    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    assert response.data["error"]["limit"] == 60


def test_a_domain_error_carries_no_http_status():
    error = errors.NotFound("No such bot.", code="not_found")
    assert not hasattr(error, "status_code")
    assert str(error) == "No such bot."


class _NameForm(forms.Form):
    name = forms.CharField()


def test_pages_show_the_message_on_the_field_the_error_names():
    form = _NameForm({"name": "x"})
    assert form.is_valid()
    add_service_error(form, errors.Conflict("A bot with this name exists.", code="duplicate", param="config.name"))
    assert form.errors == {"name": ["A bot with this name exists."]}


def test_pages_show_an_error_without_a_known_field_above_the_form():
    form = _NameForm({"name": "x"})
    assert form.is_valid()
    add_service_error(form, errors.Unavailable("Redis is unreachable.", code="unavailable", param="other"))
    assert form.non_field_errors() == ["Redis is unreachable."]
