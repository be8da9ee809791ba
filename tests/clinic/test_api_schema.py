"""The OpenAPI schema stays meaningful with handlers made by `RecordRoutes`: every operation
has its own id and a summary naming what it does, every path id is named by its kind, and a
PATCH body has its POST body's bounds."""

from __future__ import annotations

from typing import Any

from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app(ClinicDB("sqlite://")).openapi()
    return [(method, path, op) for path, item in schema["paths"].items()
            for method, op in item.items()]


def test_every_operation_has_its_own_id_and_a_summary_from_its_name() -> None:
    operations = _operations()
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    for method, path, op in operations:
        name = op["operationId"].removesuffix(f"_{method}")
        summary_words = op["summary"].lower().split()
        assert name.startswith("_".join(summary_words)), (method, path, op["summary"])


def test_the_api_path_ids_are_named_by_their_kind_and_bounded() -> None:
    names = set()
    for _, path, op in _operations():
        for parameter in op.get("parameters", []):
            if path.startswith("/api/") and parameter["in"] == "path" \
                    and parameter["name"].endswith("_id"):
                assert "{" + parameter["name"] + "}" in path
                assert (parameter["schema"]["minimum"], parameter["schema"]["type"]) == (
                    1, "integer")
                names.add(parameter["name"])
    assert {"patient_id", "implant_id", "trial_id", "change_id", "call_id",
            "appointment_id"} <= names


def _values(rule: dict[str, Any]) -> list[dict[str, Any]]:
    """What a property accepts besides null (its title, default and description aside)."""
    return [{k: v for k, v in r.items() if k not in ("title", "default", "description")}
            for r in rule.get("anyOf", [rule]) if r != {"type": "null"}]


def test_a_patch_body_keeps_the_bounds_of_its_post_body() -> None:
    schemas = create_app(ClinicDB("sqlite://")).openapi()["components"]["schemas"]
    for created, changed in (("PrescriptionIn", "PrescriptionChange"),
                             ("ImplantIn", "ImplantChange"), ("VisitIn", "VisitChange"),
                             ("TrialIn", "TrialChange")):
        post, patch = schemas[created]["properties"], schemas[changed]["properties"]
        assert schemas[changed]["required"] == ["version"]
        assert set(patch) - {"version"} <= set(post)
        for field in set(patch) - {"version"}:
            assert {"type": "null"} in patch[field]["anyOf"], (changed, field)
            assert _values(patch[field]) == _values(post[field]), (changed, field)
