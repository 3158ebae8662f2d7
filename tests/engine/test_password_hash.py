"""Password hashes: production hashes at scrypt n = 2**14; the cost is stored in each hash, so
hashes made at any cost (the fixtures' cheap one included) verify; tests hash cheaply."""

from __future__ import annotations

import pytest

from engine.people.accounts import (
    PASSWORD_HASH_COST,
    add_user,
    authenticate,
    check_password,
    get_user,
    hash_password,
)
from engine.store.db import transaction
from tests.conftest import PASSWORD, TEST_PASSWORD_HASH_COST


def _cost(stored: str) -> int:
    scheme, n, salt, digest = stored.split("$")
    assert scheme == "scrypt" and len(bytes.fromhex(salt)) == 16 and len(digest) == 64
    return int(n)


def test_production_cost_is_the_default_everywhere_a_password_is_hashed(sqlite_ctx):
    assert PASSWORD_HASH_COST == 2**14  # lowering it is a security decision, not a refactor
    assert _cost(hash_password("whatever-password")) == 2**14
    # add_user (used by the CLI, the admin UI and the demo, none of which pass a cost).
    with transaction(sqlite_ctx.sessions) as s:
        add_user(s, "prod", "production-password", now=sqlite_ctx.clock.now())
        stored = get_user(s, "prod").password_hash
        assert _cost(stored) == 2**14
        assert authenticate(s, "prod", "production-password").username == "prod"


@pytest.mark.parametrize("cost", [2, TEST_PASSWORD_HASH_COST, 2**10, PASSWORD_HASH_COST])
def test_a_hash_made_at_any_cost_verifies_by_the_cost_it_carries(cost):
    stored = hash_password("correct-horse", cost)
    assert _cost(stored) == cost
    assert check_password("correct-horse", stored)
    assert not check_password("correct-horsf", stored)
    # The digest depends on the cost: the same salt and digest under another n do not verify.
    other = 4 if cost != 4 else 8
    assert not check_password("correct-horse", stored.replace(f"${cost}$", f"${other}$", 1))


def test_two_hashes_of_one_password_differ():
    assert hash_password("same-password", 16) != hash_password("same-password", 16)


@pytest.mark.parametrize("cost", [0, 1, 3, 1000, -16])
def test_a_cost_that_is_not_a_power_of_two_is_refused(cost):
    with pytest.raises(ValueError):
        hash_password("some-password", cost)


def test_staff_passwords_are_stored_at_the_test_cost(ctx, staff):
    assert TEST_PASSWORD_HASH_COST < PASSWORD_HASH_COST
    with transaction(ctx.sessions) as s:
        for name in staff:
            stored = get_user(s, name).password_hash
            assert _cost(stored) == TEST_PASSWORD_HASH_COST
            assert authenticate(s, name, PASSWORD).username == name


def test_cheaply_hashed_users_get_tokens_over_the_api(token_for):
    # POST /api/v1/auth/token with PASSWORD for a user the fixtures made at the test cost.
    assert token_for("alice")["Authorization"].startswith("Bearer ")
