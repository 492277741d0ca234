"""The session's decoding masks every Secret an answer can hold, walking only answers that can hold one."""

from __future__ import annotations

import json

from k3s_mcp.kube import KubeSession
from k3s_mcp.settings import Settings

SECRET = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}}


def session() -> KubeSession:
    return KubeSession(Settings(kubeconfig="/nonexistent"))


def test_a_secret_inside_another_answer_is_masked() -> None:
    answer = {"kind": "List", "items": [{"kind": "ConfigMap", "data": {"a": "b"}}, SECRET]}
    decoded = session().decode(json.dumps(answer).encode(), "/api/v1/configmaps")
    assert decoded["items"][1]["data"] == {"password": "(hidden, 7 bytes)"}
    assert decoded["items"][0]["data"] == {"a": "b"}


def test_a_kind_written_with_unicode_escapes_is_still_masked() -> None:
    raw = json.dumps({"kind": "List", "items": [SECRET]}).encode().replace(b'"Secret"', b'"S\\u0065cret"')
    assert b'"Secret"' not in raw
    decoded = session().decode(raw, "/apis/example.com/v1/things")
    assert decoded["items"][0]["data"] == {"password": "(hidden, 7 bytes)"}


def test_items_of_a_secret_path_are_masked_without_a_kind() -> None:
    answer = {"items": [{"metadata": {"name": "s"}, "data": {"token": "dG9rZW4="}}]}
    decoded = session().decode(json.dumps(answer).encode(), "/api/v1/namespaces/default/secrets")
    assert decoded["items"][0]["data"] == {"token": "(hidden, 5 bytes)"}


def test_an_answer_without_a_secret_is_returned_as_sent() -> None:
    answer = {"kind": "PodList", "items": [{"kind": "Pod", "metadata": {"name": "p"}, "data": {"x": "y"}}]}
    assert session().decode(json.dumps(answer).encode(), "/api/v1/pods") == answer


def test_managed_fields_go_at_decoding_and_look_alikes_stay() -> None:
    entry = {"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}
    answer = {
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "managedFields": [entry]},
        # A data key of that name, and a custom field shaped like entries but not beside ObjectMeta fields.
        "data": {"managedFields": "keep me", "name": "x"},
        "spec": {"managedFields": [entry], "size": 3},
    }
    decoded = session().decode(json.dumps(answer).encode(), "/api/v1/namespaces/a/configmaps/settings")
    assert decoded["metadata"] == {"name": "settings"}
    assert decoded["data"] == {"managedFields": "keep me", "name": "x"}
    assert decoded["spec"] == {"managedFields": [entry], "size": 3}
    # Entries of another shape are not managed fields: kept.
    odd = {"metadata": {"name": "n", "managedFields": [{"manager": "m"}]}}
    assert session().decode(json.dumps(odd).encode(), "/api/v1/x")["metadata"]["managedFields"] == [{"manager": "m"}]
