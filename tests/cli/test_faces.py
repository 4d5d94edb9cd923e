from __future__ import annotations

import json
import shutil

import pytest


@pytest.fixture
def blink_clip(faces, tmp_path):
    folder = tmp_path / "frames"
    shutil.copytree(faces / "clips/blink-640x480", folder)
    (folder / "notes.txt").write_text("not a frame")
    return folder


def test_verify_frames_prints_the_verdict_as_json(cli, faces, blink_clip):
    result = cli.invoke(
        args=[
            "verify-frames",
            "--reference",
            str(faces / "people/obama/obama.jpg"),
            str(blink_clip),
            "--challenges",
            "blink",
        ]
    )
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["verdict"] == "success"
    assert output["distance"] <= 0.5
    assert 0 < output["cpu_seconds"] < 10
    assert output["steps"] == ["blink"]
    assert output["message"] == "人脸与登记照片一致"
    assert output["details"]["frames_received"] == 30
    assert len(output["frames"]) == 3 and all(name.startswith("f0") for name in output["frames"])


def test_verify_frames_exits_with_1_for_a_mismatch(cli, faces, blink_clip):
    result = cli.invoke(
        args=[
            "verify-frames",
            "--reference",
            str(faces / "people/biden/biden.jpg"),
            str(blink_clip),
            "--challenges",
            "blink",
        ],
    )
    assert result.exit_code == 1
    output = json.loads(result.stdout)
    assert output["verdict"] == "mismatch" and output["distance"] > 0.55


def test_verify_frames_uses_the_challenge_setting(app, cli, faces, blink_clip):
    app.config["LIVENESS_CHALLENGES"] = "open_mouth"
    result = cli.invoke(
        args=["verify-frames", "--reference", str(faces / "people/obama/obama.jpg"), str(blink_clip)],
    )
    output = json.loads(result.stdout)
    assert output["steps"] == ["open_mouth"]
    assert output["verdict"] == "liveness_failed" and output["message"] == "没有检测到张嘴"


def test_verify_frames_refuses_a_reference_without_one_face(cli, faces, blink_clip):
    result = cli.invoke(
        args=["verify-frames", "--reference", str(faces / "group/two_people.jpg"), str(blink_clip)],
    )
    assert result.exit_code == 2
    assert "照片中有不止一张人脸" in result.stderr


def test_verify_frames_refuses_unknown_challenges(cli, faces, blink_clip):
    result = cli.invoke(
        args=[
            "verify-frames",
            "--reference",
            str(faces / "people/obama/obama.jpg"),
            str(blink_clip),
            "--challenges",
            "wink",
        ]
    )
    assert result.exit_code == 2
    assert "blink, turn_left, turn_right, open_mouth" in result.stderr
