"""What a cashier sees of a member's name."""

import pytest

from gateway.domain.names import cashier_display_name


@pytest.mark.parametrize(
    ("full", "shown"),
    [("Ana Lima", "Ana L."), ("Chen", "Chen"), ("  ", "Member"), ("Ana Maria de Souza", "Ana S.")],
)
def test_first_name_and_last_initial(full, shown):
    assert cashier_display_name(full) == shown
