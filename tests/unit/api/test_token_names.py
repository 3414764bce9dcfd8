"""Who did it: the lifecycle API records the name of the token that made the call."""

from __future__ import annotations

from pathlib import Path

from civicpulse.api.query.tokens import CONFIGURED_TOKEN_NAME, ApiTokens


def test_a_token_is_known_by_its_name_and_the_configured_one_by_the_variable(
    tmp_path: Path,
) -> None:
    configured = "configured-token-" + "y" * 24
    tokens = ApiTokens.in_data_dir(tmp_path, (configured,))
    eva, jan = tokens.add("eva"), tokens.add("jan")
    assert (tokens.name_of(eva), tokens.name_of(jan)) == ("eva", "jan")
    assert tokens.name_of(configured) == CONFIGURED_TOKEN_NAME
    assert tokens.name_of("not-a-token") is None
    assert tokens.revoke("eva")
    assert tokens.name_of(eva) is None and tokens.check(eva) is False
