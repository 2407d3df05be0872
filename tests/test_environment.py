"""The one helper that sets environment variables for a block and puts them back."""

from __future__ import annotations

import os

import pytest

from pipelines.environment import temporary_environment


def test_values_are_set_and_unset_for_the_block_and_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROBE_KEPT", "before")
    monkeypatch.setenv("PROBE_REMOVED", "before")
    monkeypatch.delenv("PROBE_ADDED", raising=False)
    with temporary_environment(
        {"PROBE_KEPT": "during", "PROBE_REMOVED": None, "PROBE_ADDED": "during"}
    ):
        assert os.environ["PROBE_KEPT"] == "during"
        assert "PROBE_REMOVED" not in os.environ
        assert os.environ["PROBE_ADDED"] == "during"
    assert os.environ["PROBE_KEPT"] == "before"
    assert os.environ["PROBE_REMOVED"] == "before"
    assert "PROBE_ADDED" not in os.environ


def test_the_environment_is_restored_when_the_block_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_KEPT", "before")
    with pytest.raises(RuntimeError), temporary_environment({"PROBE_KEPT": "during"}):
        raise RuntimeError
    assert os.environ["PROBE_KEPT"] == "before"
