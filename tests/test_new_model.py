"""A new model from scratch, as the README tells a team to add one: copy an example folder,
rename it, edit its spec. Nothing outside models/ changes, and the copy synthesizes and runs
end to end on this machine (in a temporary copy of the project)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from benchmarks.project_copy import ROOT, copy_project, project_files
from pipelines.assembly.manifest import read_assembly
from tests.support.offline import node_offline_env

MODEL = "churn"
SPEC_LINE_BUDGET = 40


def make_new_model(project: Path) -> Path:
    """The README's steps: cp -r models/wine models/churn, then edit the spec."""
    folder = project / "models" / MODEL
    folder.parent.mkdir(exist_ok=True)
    subprocess.run(["cp", "-r", str(ROOT / "models" / "wine"), str(folder)], check=True)
    spec = folder / "model.toml"
    text = spec.read_text()
    edited = text.replace('description = "Wine', 'description = "Churn (copied from wine)').replace(
        "max_jobs = 6", "max_jobs = 2"
    )
    assert edited != text
    spec.write_text(edited)
    return folder


def test_a_new_model_needs_one_folder_and_synthesizes_and_runs(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", models=[])
    folder = make_new_model(project)
    assert len((folder / "model.toml").read_text().splitlines()) <= SPEC_LINE_BUDGET

    # Every file outside models/ is the repository's own, byte for byte.
    for name in project_files():
        if not name.startswith("models/"):
            assert (project / name).read_bytes() == (ROOT / name).read_bytes(), name
    added = sorted(p.relative_to(project).as_posix() for p in (project / "models").rglob("*"))
    assert added == [
        f"models/{MODEL}",
        *sorted(f"models/{MODEL}/{p.name}" for p in folder.iterdir()),
    ]

    env = {
        **node_offline_env(),
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    python = str(project / ".venv" / "bin" / "python")
    synth = subprocess.run(
        [python, "app.py"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert synth.returncode == 0, synth.stderr
    template = read_assembly(tmp_path / "cdk.out", nested=False).by_id()["Pipeline"].template
    pipelines = [
        resource["Properties"]["PipelineName"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SageMaker::Pipeline"
    ]
    assert pipelines == [f"mlops-dev-{MODEL}-pipeline"]

    run = subprocess.run(
        [
            python,
            "-m",
            "pipelines.local",
            "run",
            "--assembly",
            str(tmp_path / "cdk.out"),
            "--run-dir",
            str(tmp_path / "run"),
        ],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"endpoint mlops-dev-{MODEL}-endpoint" in run.stdout
    assert "-> HTTP 200" in run.stdout
