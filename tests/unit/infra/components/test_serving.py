"""The API's Deployment (infra/components/serving.py): the operator's key it generates is
one the API accepts, with both scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.components.serving import OPERATOR_KEY_ID, operator_key_file
from workloads.serving.auth import AuthenticationError, KeyStore, Scope, key_token


def test_the_operator_key_is_accepted_by_the_api_with_every_scope(tmp_path: Path) -> None:
    secret = "s3cr3t-from-pulumi"
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(operator_key_file(secret))
    assert secret not in keys_file.read_text()  # stored only as a hash
    principal = KeyStore(keys_file).authenticate(key_token(OPERATOR_KEY_ID, secret))
    assert principal.scopes == {scope.value for scope in Scope}
    with pytest.raises(AuthenticationError):
        KeyStore(keys_file).authenticate(key_token(OPERATOR_KEY_ID, "another"))
