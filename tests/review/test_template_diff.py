"""tools/review/template-diff.cjs: the CDK diff engine's verdicts, as structured JSON."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from review.assembly import Assembly
from review.template_diff import NODE_SCRIPT, diff_templates
from tests.support.offline import node_offline_env


def test_the_script_diffs_two_template_files(
    review_assemblies: dict[str, Assembly],
) -> None:
    base = review_assemblies["base"].stacks["Foundation"].template_file
    head = review_assemblies["renamed"].stacks["Foundation"].template_file
    result = subprocess.run(
        ["node", str(NODE_SCRIPT), str(base), str(head)],
        capture_output=True,
        text=True,
        check=True,
        env=node_offline_env(),
    )
    diff = json.loads(result.stdout)
    bucket = next(r for r in diff["resources"] if r["logicalId"].startswith("StorageDataBucket"))
    assert bucket["changeImpact"] == "WILL_REPLACE"
    assert bucket["replacementCauses"] == [
        {"property": "BucketName", "changeImpact": "WILL_REPLACE"}
    ]
    assert bucket["oldUpdateReplacePolicy"] == "Retain"
    assert diff["iamStatements"][0] == [
        "",
        "Resource",
        "Effect",
        "Action",
        "Principal",
        "Condition",
    ]
    assert "\u001b[" not in result.stdout  # no terminal colours in the data


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = subprocess.run(
        ["node", str(NODE_SCRIPT), str(broken), str(broken)],
        capture_output=True,
        text=True,
        check=False,
        env=node_offline_env(),
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {broken}: not JSON")


@pytest.fixture(scope="module")
def verdicts(review_assemblies: dict[str, Assembly]) -> dict[str, dict[str, str]]:
    """Impacts of removing the data bucket with each deletion policy, and of a new stack."""
    template = review_assemblies["base"].stacks["Foundation"].template
    data_bucket = next(i for i in template["Resources"] if i.startswith("StorageDataBucketB"))
    retained = copy.deepcopy(template)
    del retained["Resources"][data_bucket]
    deleting = copy.deepcopy(template)
    deleting["Resources"][data_bucket]["DeletionPolicy"] = "Delete"
    diffs = diff_templates(
        {
            "orphan": (template, retained),
            "destroy": (deleting, retained),
            "new": (None, template),
            "same": (template, copy.deepcopy(template)),
        },
        env=node_offline_env(),
    )
    return {
        name: {change.logical_id: change.impact for change in diff.resources}
        | {"danger": ",".join(c.logical_id for c in diff.dangers)}
        for name, diff in diffs.items()
    } | {"bucket": {"id": data_bucket}}


def test_removing_a_retained_bucket_orphans_it_and_is_danger(
    verdicts: dict[str, dict[str, str]],
) -> None:
    bucket = verdicts["bucket"]["id"]
    assert verdicts["orphan"][bucket] == "WILL_ORPHAN"
    assert verdicts["orphan"]["danger"] == bucket


def test_removing_a_deletable_bucket_destroys_it_and_is_danger(
    verdicts: dict[str, dict[str, str]],
) -> None:
    bucket = verdicts["bucket"]["id"]
    assert verdicts["destroy"][bucket] == "WILL_DESTROY"
    assert verdicts["destroy"]["danger"] == bucket


def test_a_new_stack_creates_everything_and_identical_templates_differ_in_nothing(
    verdicts: dict[str, dict[str, str]], review_assemblies: dict[str, Assembly]
) -> None:
    resources = review_assemblies["base"].stacks["Foundation"].template["Resources"]
    new = {k: v for k, v in verdicts["new"].items() if k != "danger"}
    assert new == dict.fromkeys(resources, "WILL_CREATE")
    assert verdicts["new"]["danger"] == ""
    assert verdicts["same"] == {"danger": ""}
