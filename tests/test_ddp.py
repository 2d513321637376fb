"""srbench train under torchrun (DistributedDataParallel on CPU, gloo): two processes with the
same global batch equal one process, their checkpoint resumes in one process, a GAN trains, only
rank 0 writes, and a batch the processes cannot share is refused."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from srbench.errors import SrbenchError  # noqa: E402
from srbench.training import loop  # noqa: E402
from srbench.training.config import load_config  # noqa: E402
from srbench.training.distributed import RankIndices, check_batch  # noqa: E402
from tests.conftest import run_cli, training_images  # noqa: E402
from tests.test_training import TINY_EDSR  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TINY_SRGAN = {
    "method": "srgan",
    "scale": 2,
    "arch": {"n_blocks": 1, "n_feats": 8},
    "data": {"patch": 16, "batch": 4, "workers": 0},
    "loss": {"mse": 1.0, "adversarial": 1.0e-3},
    "discriminator": {"arch": {"n_feats": 8}},
    "ema": 0.9,
    "iters": 2,
    "log_every": 1,
    "validation": {"every": 2, "images": 1},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(root: Path) -> dict[str, str]:
    """The subprocesses' environment: this checkout first, private caches and weights store."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "SRBENCH_CACHE": str(root / "cache"),
        "SRBENCH_WEIGHTS": str(root / "store"),
        "TORCH_HOME": str(root / "torch"),
        "OMP_NUM_THREADS": "1",
    }


def _train_args(root: Path, name: str, settings: dict) -> list[str]:
    """``train`` of ``settings`` (written to ``root/<name>.yaml``) on the images in
    ``root/images`` into ``root/<name>``."""
    config = root / f"{name}.yaml"
    config.write_text(json.dumps(settings))  # JSON is YAML
    images = str(root / "images")
    args = ["train", settings["method"], "--data", images, "--val", images, "--no-progress"]
    return [*args, "--config", str(config), "--out", str(root / name)]


def _torchrun(root: Path, name: str, settings: dict, *args: str) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node 2 -m srbench train ...``, each rank's output in
    ``root/ranks-<name>/.../<rank>/``."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    launcher += ["--master-addr", "127.0.0.1", "--master-port", str(_free_port())]
    launcher += ["--log-dir", str(root / f"ranks-{name}"), "--redirects", "3", "-m", "srbench"]
    return _run(root, [*launcher, *_train_args(root, name, settings), *args])


def _run(root: Path, command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, env=_env(root), capture_output=True, text=True, timeout=240, check=False
    )


def _rank_output(root: Path, name: str, rank: int) -> str:
    """What rank ``rank`` wrote to its stdout and stderr."""
    files = [p for p in (root / f"ranks-{name}").rglob("*.log") if p.parent.name == str(rank)]
    assert files, sorted((root / f"ranks-{name}").rglob("*"))
    return "".join(p.read_text() for p in files)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def _weights(out: Path) -> dict:
    (path,) = (out / "model").glob("*.pt")
    return torch.load(path, weights_only=True)


def _close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory) -> Path:
    """A tiny EDSR trained by two processes: 6 iterations of a global batch of 4, a checkpoint
    every 3, installed as ``edsr_baseline:tag=ddp``."""
    root = tmp_path_factory.mktemp("ddp")
    training_images(root / "images")
    done = _torchrun(root, "edsr", TINY_EDSR, "--tag", "ddp")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def _one_process(root: Path, out: Path, monkeypatch, **kwargs) -> loop.TrainResult:
    for key, value in _env(root).items():
        if key.startswith(("SRBENCH_", "TORCH_HOME")):
            monkeypatch.setenv(key, value)
    path = root / "edsr.yaml"  # the DDP run's config
    config = load_config(path, "edsr_baseline", None)
    images = str(root / "images")
    return loop.train(config, images, out, tag=None, progress=False, validation=images, **kwargs)


def test_each_rank_draws_its_part_of_every_global_batch():
    single = list(RankIndices(2, 5, 4, 0, 1))
    ranks = [list(RankIndices(2, 5, 4, r, 2)) for r in range(2)]
    assert single == list(range(8, 20))
    # Iteration by iteration, rank 0's half then rank 1's half is the one process's batch.
    merged = [i for t in range(3) for part in ranks for i in part[t * 2 : t * 2 + 2]]
    assert merged == single


def test_a_global_batch_must_split_evenly():
    check_batch(4, 2)
    with pytest.raises(SrbenchError, match="data.batch 3 is the global batch"):
        check_batch(3, 2)


@pytest.mark.slow
def test_two_processes_equal_one_with_the_same_global_batch(ddp_run, tmp_path, monkeypatch):
    single = _one_process(ddp_run, tmp_path / "single", monkeypatch)
    ddp = _log(ddp_run / "edsr")
    assert [r["world_size"] for r in ddp] == [2] * 6
    assert [r["world_size"] for r in single.losses] == [1] * 6
    for one, two in zip(single.losses, ddp, strict=True):
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-5), (one, two)
    _close(_weights(tmp_path / "single"), _weights(ddp_run / "edsr"))


@pytest.mark.slow
def test_only_rank_0_writes_the_run_folder_and_installs(ddp_run):
    out = ddp_run / "edsr"
    assert len(_log(out)) == 6  # not twice: rank 1 logs nothing
    assert len((out / "validation.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last.pt", "previous.pt"]
    assert len(list((out / "model").iterdir())) == 2  # the weights and their card
    (card,) = (out / "model").glob("*.json")
    assert json.loads(card.read_text())["training"]["world_size"] == 2
    assert len(list((ddp_run / "store" / "edsr_baseline" / "ddp").glob("*.pt"))) == 1
    rank0, rank1 = _rank_output(ddp_run, "edsr", 0), _rank_output(ddp_run, "edsr", 1)
    assert "installed as edsr_baseline:tag=ddp" in rank0 and "validation" in rank0
    assert "installed" not in rank1 and "validation" not in rank1 and "training" not in rank1


@pytest.mark.slow
def test_a_two_process_checkpoint_resumes_in_one_process(ddp_run, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    (out / "checkpoints").mkdir(parents=True)
    # previous.pt is the checkpoint of iteration 3 (one every 3 of 6)
    shutil.copy(ddp_run / "edsr" / "checkpoints" / "previous.pt", out / "checkpoints" / "last.pt")
    shutil.copy(ddp_run / "edsr" / "log.jsonl", out / "log.jsonl")
    lines: list[str] = []
    resumed = _one_process(ddp_run, out, monkeypatch, resume=True, log=lines.append)
    assert any("at iteration 3" in line for line in lines), lines
    straight = _log(ddp_run / "edsr")
    assert [r["iteration"] for r in resumed.losses] == [1, 2, 3, 4, 5, 6]
    for two, one in zip(straight[3:], resumed.losses[3:], strict=True):
        assert one["loss"] == pytest.approx(two["loss"], rel=1e-5), (one, two)
        assert one["world_size"] == 1
    _close(_weights(out), _weights(ddp_run / "edsr"))


@pytest.mark.slow
def test_a_gan_with_ema_trains_under_two_processes_of_the_train_launcher(ddp_run):
    command = [sys.executable, "-m", "srbench", *_train_args(ddp_run, "srgan", TINY_SRGAN)]
    done = _run(ddp_run, [*command, "--tag", "", "--nproc-per-node", "2"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count("distributed: 2 processes (gloo)") == 1  # rank 0 alone talks
    records = _log(ddp_run / "srgan")
    assert [r["iteration"] for r in records] == [1, 2]
    for record in records:
        assert {"loss", "mse", "adversarial", "d_loss", "d_acc"} <= record.keys()
        assert record["world_size"] == 2 and 0.0 <= record["d_acc"] <= 1.0
    state = torch.load(ddp_run / "srgan" / "checkpoints" / "last.pt", weights_only=False)
    assert {"g", "d", "d_opt", "ema"} <= state.keys() and state["iteration"] == 2
    assert len(list((ddp_run / "srgan" / "model").glob("*.pt"))) == 1


@pytest.mark.slow
def test_a_global_batch_the_processes_cannot_share_exits_2(ddp_run):
    settings = {**TINY_EDSR, "data": {**TINY_EDSR["data"], "batch": 3}}
    done = _torchrun(ddp_run, "odd", settings, "--tag", "")
    assert done.returncode != 0
    assert "exitcode  : 2" in done.stdout + done.stderr, done.stderr
    assert "data.batch 3 is the global batch and must be divisible" in _rank_output(
        ddp_run, "odd", 0
    )
    assert not (ddp_run / "odd").exists()


def test_the_train_launcher_refuses_a_batch_it_cannot_share_before_starting(tmp_path):
    config = tmp_path / "edsr.yaml"
    config.write_text(json.dumps(TINY_EDSR))  # a global batch of 4
    out = tmp_path / "run"
    args = ("train", "edsr_baseline", "--data", tmp_path, "--config", config, "--out", out)
    result = run_cli(*args, "--nproc-per-node", "3", expect=2)
    assert "data.batch 4 is the global batch and must be divisible" in result.stderr
    assert "processes (3)" in result.stderr and not out.exists()


def test_a_vae_rank_draws_its_rows_of_the_whole_batch_noise():
    from srbench.methods.trained import architecture
    from srbench.weights.loading import build_network

    small = {"n_feats": 8, "n_blocks": 1, "z_channels": 2, "encoder_blocks": 1}
    net = build_network(architecture("srvae"), (2,), small)
    lr, hr = torch.rand(4, 3, 6, 6), torch.rand(4, 3, 12, 12)

    def noise() -> torch.Generator:
        return torch.Generator().manual_seed(5)

    whole, _ = net.posterior_forward(lr, hr, noise())
    halves = [(lr[i : i + 2], hr[i : i + 2], noise(), (i, 4)) for i in (0, 2)]
    parts = [net.posterior_forward(*half)[0] for half in halves]
    torch.testing.assert_close(torch.cat(parts), whole, rtol=1e-5, atol=1e-6)
    unsplit, _ = net.posterior_forward(lr[2:], hr[2:], noise())  # the first rows' noise
    assert not torch.allclose(unsplit, parts[1])
