"""``train rec``: data sources, batches, the Lightning system and the CLI end to end (tiny runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from typer.testing import CliRunner  # noqa: E402

from textlens.cli.train import app  # noqa: E402
from textlens.data.charset import AttentionTokenizer, Charset, CTCTokenizer, DecoderKind, tokenizer_for  # noqa: E402
from textlens.data.manifest import ManifestWriter  # noqa: E402
from textlens.data.samples import CropSample, PageSample, WordAnnotation  # noqa: E402
from textlens.errors import ConfigError  # noqa: E402
from textlens.models.serialization import load_weights  # noqa: E402
from textlens.runtime.crops import CropSpec  # noqa: E402
from textlens.train.callbacks import (  # noqa: E402
    AtomicCheckpointIO,
    WallClockBudget,
    projected_last_step,
    wall_clock_budget,
)
from textlens.train.common import lr_factor, step_lr_scheduler  # noqa: E402
from textlens.train.data import LabelRules, TrainStream, collate, prepare  # noqa: E402
from textlens.train.finetune import load_matching  # noqa: E402
from textlens.train.rec import RecTrainConfig, train_recognizer  # noqa: E402
from textlens.train.sources import (  # noqa: E402
    FakeSource,
    LmdbSource,
    ManifestSource,
    build_source,
    parse_source,
    render_text,
)

LATIN = Charset.from_spec("latin")
WORDS = ["TOTAL", "cash", "12.50", "Date:", "hello", "world"]


@pytest.fixture(scope="module")
def crop_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crops")
    with ManifestWriter(out) as writer:
        for word in WORDS:
            writer.add(CropSample(render_text(word, 22), word))
    return out / "manifest.jsonl"


@pytest.fixture(scope="module")
def page_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One page with two lines of two words each, drawn at known boxes."""
    from PIL import Image, ImageDraw, ImageFont

    out = tmp_path_factory.mktemp("pages")
    page = Image.new("RGB", (400, 160), "white")
    draw, font = ImageDraw.Draw(page), ImageFont.load_default(size=24)
    words = []
    for text, (x, y) in [("Hello", (20, 20)), ("there", (92, 20)), ("Total", (20, 90)), ("9.99", (90, 90))]:
        draw.text((x, y), text, fill="black", font=font)
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font)
        words.append(WordAnnotation(text=text, box=(x0, y0, x1, y1)))
    words.append(WordAnnotation(text="###", box=(300, 20, 380, 50)))
    with ManifestWriter(out) as writer:
        writer.add(PageSample(np.asarray(page), tuple(words)))
    return out / "manifest.jsonl"


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(app, ["rec", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- sources and batches


def test_source_specs_parse_path_options_and_weight() -> None:
    spec = parse_source("manifest:data/m.jsonl,crops=lines,weight=0.3")
    assert (spec.kind, spec.path, spec.options, spec.weight) == (
        "manifest",
        "data/m.jsonl",
        {"crops": "lines"},
        0.3,
    )
    assert parse_source("synth:preset=mixed,fonts=train").options == {"preset": "mixed", "fonts": "train"}


@pytest.mark.parametrize("bad", ["nope:x", "manifest:", "synth:weight=-1", "manifest:a,b", "fake:n=abc"])
def test_bad_source_specs_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        build_source(parse_source(bad), LATIN)


def test_unknown_source_option_is_named(crop_manifest: Path) -> None:
    with pytest.raises(ConfigError, match="colour"):
        build_source(parse_source(f"manifest:{crop_manifest},colour=red"), LATIN)


def test_page_manifest_gives_word_crops_without_dont_cares(page_manifest: Path) -> None:
    source = ManifestSource(page_manifest, crops="words")
    assert [source[i].text for i in range(len(source))] == ["Hello", "there", "Total", "9.99"]
    crop = source[0].image
    assert crop.shape[0] < 40 and crop.min() < 100  # a tight crop holding dark ink


def test_page_manifest_grouped_into_lines(page_manifest: Path) -> None:
    source = ManifestSource(page_manifest, crops="lines")
    assert sorted(source[i].text for i in range(len(source))) == ["Hello there", "Total 9.99"]


def test_lmdb_source_reads_the_benchmark_layout(tmp_path: Path) -> None:
    import cv2
    import lmdb

    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 22)
    with env.begin(write=True) as txn:
        for i, word in enumerate(WORDS[:3], 1):
            _, png = cv2.imencode(".png", render_text(word))
            txn.put(b"image-%09d" % i, png.tobytes())
            txn.put(b"label-%09d" % i, word.encode())
        txn.put(b"num-samples", b"3")
    env.close()
    source = LmdbSource(tmp_path / "db")
    assert len(source) == 3 and source[2].text == "12.50" and source[2].image.shape[2] == 3


def test_ctc_rules_drop_labels_longer_than_the_time_steps() -> None:
    rules = LabelRules(LATIN, "ctc")
    assert rules.fits("abc", 16)  # 4 steps, 3 labels
    assert not rules.fits("aab", 12)  # 3 steps, but the repeat needs a blank between: 4
    assert not rules.fits("", 64)
    spec = CropSpec()
    assert prepare(CropSample(render_text("ab"), "abcdefghijklmnopqrstuvwxyz"), spec, rules) is None
    assert prepare(CropSample(render_text("héllo"), "héllo"), spec, LabelRules(Charset("hlo"), "ctc"))[1] == "hllo"


def test_collate_pads_to_the_widest_crop_and_builds_targets() -> None:
    spec = CropSpec()
    items = [prepare(CropSample(render_text(w), w), spec, LabelRules(LATIN, "ctc")) for w in ("ab", "longer")]
    batch = collate(items, spec, LabelRules(LATIN, "ctc"))
    assert batch["images"].shape[3] == max(int(w) for w in batch["widths"])
    assert batch["target_lengths"].tolist() == [2, 6] and batch["targets"].shape == (8,)
    attn = collate(items, spec, LabelRules(LATIN, "attention"))
    assert attn["targets"].shape == (2, 8) and attn["targets"][0, 0] == 1  # SOS text EOS PAD…
    parallel = collate(items, spec, LabelRules(LATIN, "parallel", max_len=10))
    assert parallel["targets"].shape == (2, 12)


def test_train_stream_mixes_sources_into_width_sorted_batches() -> None:
    sources = [FakeSource(n=16, alphabet="ab"), FakeSource(n=16, alphabet="xy")]
    stream = TrainStream(sources, [0.5, 0.5], CropSpec(), LabelRules(LATIN, "ctc"), batch_size=4, bucket_batches=4)
    batches = [b for _, b in zip(range(8), iter(stream), strict=False)]
    letters = set("".join(t for b in batches for t in b["texts"]))
    assert letters == set("abxy")
    assert all(b["images"].shape[0] == 4 for b in batches)


def test_reframing_a_real_crop_moves_its_margins_but_keeps_its_ink() -> None:
    from textlens.train.sources import REFRAME_MARGIN, reframe_crop

    crop = np.full((40, 120, 3), 235, np.uint8)
    crop[4:36, 4:116] = 25  # ink up to 0.1 crop heights from every side, as prepare_real_crops cuts them
    rng = np.random.default_rng(3)
    shapes = set()
    for _ in range(50):
        out = reframe_crop(crop, rng)
        assert (out < 128).sum() == (crop < 128).sum()  # trims never reach the ink
        assert tuple(out[0, 0]) == (235, 235, 235)  # padding takes the border colour
        low, high = (round(m * 40) for m in REFRAME_MARGIN)
        assert 40 + 2 * low <= out.shape[0] <= 40 + 2 * high
        shapes.add(out.shape)
    assert len(shapes) > 10
    assert reframe_crop(crop[:, :, 0], rng).ndim == 2


def test_ink_framing_sets_margins_independent_of_the_crops_own_frame() -> None:
    from textlens.train.sources import INK_MARGIN, reframe_to_ink

    rng = np.random.default_rng(5)
    for pad in (2, 20):  # a tight and a loose crop of the same 20-px-high ink band
        crop = np.full((20 + 2 * pad, 90, 3), 240, np.uint8)
        crop[pad : pad + 20, 5:85:4] = 20  # strokes: ink is the minority, as in text
        for _ in range(30):
            out = reframe_to_ink(crop, rng)
            assert (out < 128).sum() == (crop < 128).sum()  # the ink is kept whole
            assert round(20 * (1 + 2 * INK_MARGIN[0])) <= out.shape[0] <= round(20 * (1 + 2 * INK_MARGIN[1]))
            assert tuple(out[0, 0]) == (240, 240, 240)
    flat = np.full((30, 60), 200, np.uint8)
    assert reframe_to_ink(flat, rng) is flat  # no ink: left as it is


def test_frame_option_of_a_manifest_source(tmp_path: Path) -> None:
    manifest = tmp_path / "crops.jsonl"
    manifest.write_text("")
    assert build_source(parse_source(f"manifest:{manifest},frame=ink"), Charset("ab")).frame == "ink"
    assert build_source(parse_source(f"manifest:{manifest}"), Charset("ab")).frame == "box"
    with pytest.raises(ConfigError, match="frame must be"):
        build_source(parse_source(f"manifest:{manifest},frame=tight"), Charset("ab"))


def test_case_option_of_a_manifest_source_marks_its_batches(tmp_path: Path) -> None:
    manifest = tmp_path / "crops.jsonl"
    manifest.write_text("")
    assert not build_source(parse_source(f"manifest:{manifest},case=any"), Charset("ab")).case_known
    assert build_source(parse_source(f"manifest:{manifest}"), Charset("ab")).case_known
    with pytest.raises(ConfigError, match="case must be"):
        build_source(parse_source(f"manifest:{manifest},case=upper"), Charset("ab"))
    spec, rules = CropSpec(), LabelRules(LATIN, "ctc")
    known, unknown = (prepare(CropSample(render_text("AB"), "AB"), spec, rules, case_known=k) for k in (True, False))
    assert "case_unknown" not in collate([known, known], spec, rules)
    assert collate([known, unknown], spec, rules)["case_unknown"].tolist() == [False, True]


def test_a_case_unknown_sample_is_learnt_as_its_letters_in_either_case() -> None:
    from textlens.train.system import RecognitionSystem

    system = RecognitionSystem("crnn_small", {"num_classes": CTCTokenizer(LATIN).num_classes}, LATIN.chars).eval()
    spec, rules = CropSpec(), LabelRules(LATIN, "ctc")
    image = render_text("Total")

    def loss(text: str, case_known: bool) -> float:
        batch = collate([prepare(CropSample(image, text), spec, rules, case_known=case_known)], spec, rules)
        with torch.no_grad():
            return float(system.compute_loss(batch))

    # Unknown case: "TOTAL" and "total" are one target, and easier than either spelling alone.
    assert loss("TOTAL", False) == pytest.approx(loss("total", False))
    assert loss("TOTAL", False) < min(loss("TOTAL", True), loss("total", True))
    assert loss("TOTAL", True) != pytest.approx(loss("total", True))


def test_schedule_warms_up_then_decays() -> None:
    factors = [lr_factor(s, 100, 0.1, "cosine") for s in range(100)]
    assert factors[0] < factors[5] < factors[9] == pytest.approx(1.0)
    assert factors[99] < 0.05 and factors[50] < factors[20]


def test_schedule_horizon_ends_the_decay_early_and_scales_the_warmup() -> None:
    assert lr_factor(4, 100, 0.1, "cosine", horizon=50) == pytest.approx(1.0)  # warm after 10 % of 50 steps
    assert lr_factor(4, 100, 0.1, "cosine") == pytest.approx(0.5)  # without a horizon: 10 % of 100 steps
    assert lr_factor(2_000, 400_000, 0.02, "cosine", horizon=10_000) > 0.9  # a large --steps bound stays cheap
    assert lr_factor(50, 100, 0.1, "cosine", horizon=50) == pytest.approx(0.01)  # floor reached at the horizon
    assert lr_factor(30, 100, 0.1, "cosine", horizon=50) < lr_factor(30, 100, 0.1, "cosine")
    assert lr_factor(30, 100, 0.1, "cosine", horizon=500) == lr_factor(30, 100, 0.1, "cosine")  # never past total


def test_projected_last_step_from_the_measured_rate() -> None:
    # 100 steps in 10 s of a 60 s budget: 500 more steps fit; clipped to max_steps and to at least one more step.
    assert projected_last_step(step=300, done=100, elapsed=10.0, budget=60.0, max_steps=10_000) == 800
    assert projected_last_step(step=300, done=100, elapsed=10.0, budget=60.0, max_steps=600) == 600
    assert projected_last_step(step=300, done=100, elapsed=70.0, budget=60.0, max_steps=10_000) == 301


def test_fit_schedule_budget_moves_the_live_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    module = SimpleNamespace(hparams=SimpleNamespace(max_steps=1000, warmup=0.01))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = step_lr_scheduler(module, optimizer, "cosine")["lr_scheduler"]["scheduler"]
    trainer = type("Trainer", (), {"global_step": 0, "max_steps": 1000, "should_stop": False})()
    clock = iter([0.0, 0.0, 10.0])  # created, training starts, 100th step ends
    monkeypatch.setattr("textlens.train.callbacks.time.perf_counter", lambda: next(clock))
    budget = WallClockBudget(minutes=1.0, fit_schedule=True)
    budget.on_train_start(trainer, module)
    trainer.global_step = 100  # 100 steps in 10 s: the 60 s budget reaches step 600 of the 1000 asked for
    budget.on_train_batch_end(trainer, module, None, None, 99)
    assert module.schedule_horizon == 600 and not trainer.should_stop
    for _ in range(600):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)  # fully decayed where the budget ends
    with pytest.raises(ConfigError, match="--max-minutes"):
        wall_clock_budget(None, fit_schedule=True)
    assert wall_clock_budget(None, fit_schedule=False) is None


def test_atomic_checkpoint_io_leaves_only_the_target(tmp_path: Path) -> None:
    AtomicCheckpointIO().save_checkpoint({"x": torch.ones(2)}, tmp_path / "last.ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
    assert torch.load(tmp_path / "last.ckpt")["x"].sum() == 2


def test_finetune_loading_keeps_rows_of_shared_characters() -> None:
    from textlens.models import create_model

    old_tok, new_tok = CTCTokenizer(Charset("abc")), CTCTokenizer(Charset("cxa"))
    old = create_model("crnn_small", num_classes=old_tok.num_classes)
    new = create_model("crnn_small", num_classes=new_tok.num_classes)
    report = load_matching(new, old.state_dict(), old_tok, new_tok)
    assert "remapped" in report
    w_old, w_new = old.classifier.weight, new.classifier.weight
    # " abc" -> rows 1..4; " cxa" -> rows 1..4: 'a' moves from row 2 to row 4, 'c' from 4 to 2.
    assert torch.equal(w_new[4], w_old[2]) and torch.equal(w_new[2], w_old[4]) and torch.equal(w_new[0], w_old[0])
    assert torch.equal(new.backbone.stages[0][0].weight, old.backbone.stages[0][0].weight)


@pytest.mark.parametrize(("arch", "kind"), [("crnn_small", "ctc"), ("attn_bahdanau", "attention")])
def test_finetune_to_a_bigger_charset_keeps_the_rows_of_every_known_class(arch: str, kind: str) -> None:
    from textlens.models import create_model
    from textlens.train.finetune import source_tokenizer

    latin = Charset.from_spec("latin")
    old_tok = source_tokenizer({"charset": latin.chars, "decoder": kind}, DecoderKind.CTC)
    new_tok = tokenizer_for(Charset(latin.chars + "ÄÖÜäöüßé"), kind)
    assert old_tok is not None
    old = create_model(arch, num_classes=old_tok.num_classes)
    new = create_model(arch, num_classes=new_tok.num_classes)
    fresh = {k: v.clone() for k, v in new.state_dict().items()}
    report = load_matching(new, old.state_dict(), old_tok, new_tok)
    keys = ["classifier.weight", "classifier.bias"] + (["embed.weight"] if kind == "attention" else [])
    assert all(key in report for key in keys)
    for key in keys:
        before, after = old.state_dict()[key], new.state_dict()[key]
        for name, row in old_tok.class_rows().items():  # the specials and every latin character
            assert torch.equal(after[new_tok.class_rows()[name]], before[row]), (key, name)
        for ch in "ÄÖÜäöüßé":  # the new characters keep their fresh initialisation
            assert torch.equal(after[new_tok.index[ch]], fresh[key][new_tok.index[ch]])


def test_the_source_layout_comes_from_its_config() -> None:
    from textlens.train.finetune import source_tokenizer

    assert source_tokenizer({}, DecoderKind.CTC) is None  # a bare .safetensors: charset unknown
    assert isinstance(source_tokenizer({"charset": "ab"}, DecoderKind.ATTENTION), AttentionTokenizer)
    assert isinstance(source_tokenizer({"charset": "ab", "decoder": "ctc"}, DecoderKind.ATTENTION), CTCTokenizer)


# ---------------------------------------------------------------- the CLI end to end


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, crop_manifest: Path) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    _invoke(
        "--data",
        "fake:n=32,weight=0.5",
        "--data",
        f"manifest:{crop_manifest}",
        "--val",
        f"manifest:{crop_manifest}",
        "--steps",
        "3",
        "--batch",
        "4",
        "--val-every",
        "2",
        "--out",
        str(out),
        "--workers",
        "0",
        "--precision",
        "fp32",
        "--no-progress",
        "--charset",
        "latin",
    )
    return out


def test_cli_run_writes_checkpoints_summary_and_export(trained_run: Path) -> None:
    assert (trained_run / "last.ckpt").is_file() and (trained_run / "best.ckpt").is_file()
    # the curves drawn at the end of the run, beside the log (textlens.train.callbacks.CurvesPlot)
    from PIL import Image

    with Image.open(trained_run / "logs" / "curves.png") as curves:
        assert curves.format == "PNG" and curves.width == 640 and curves.height >= 320
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["samples"] == 12 and summary["final_val"]["count"] == len(WORDS)
    config = json.loads((trained_run / "export" / "config.json").read_text())
    assert set(config) == {
        "name",
        "family",
        "arch",
        "decoder",
        "model",
        "charset",
        "input",
        "runtime",
        "training",
    }
    assert (config["name"], config["family"], config["arch"], config["decoder"]) == (
        "tiny",
        "recognition",
        "crnn_small",
        "ctc",
    )
    assert config["charset"] == LATIN.chars and config["model"]["num_classes"] == len(LATIN) + 1
    assert CropSpec.from_config(config["input"]) == CropSpec(height=32, channels=1)
    from textlens.models import create_model

    model = create_model("crnn_small", **config["model"])
    load_weights(model, trained_run / "export" / "model.safetensors")  # strict: every tensor fits


def test_cli_resume_continues_from_last_checkpoint(trained_run: Path, crop_manifest: Path) -> None:
    _invoke(
        "--data",
        f"manifest:{crop_manifest}",
        "--steps",
        "5",
        "--batch",
        "4",
        "--val-every",
        "2",
        "--out",
        str(trained_run),
        "--workers",
        "0",
        "--precision",
        "fp32",
        "--no-progress",
        "--resume",
    )
    summary = json.loads((trained_run / "summary.json").read_text())
    assert summary["steps"] == 5 and summary["samples"] == 20  # 3 steps before + 2 now, 4 crops each
    assert torch.load(trained_run / "last.ckpt", weights_only=False)["global_step"] == 5


def test_cli_finetune_to_another_charset(trained_run: Path, tmp_path: Path, crop_manifest: Path) -> None:
    out = tmp_path / "digits"
    _invoke(
        "--data",
        "fake:n=16,alphabet=0123456789",
        "--finetune",
        str(trained_run / "export"),
        "--charset",
        "digits",
        "--steps",
        "2",
        "--batch",
        "4",
        "--out",
        str(out),
        "--workers",
        "0",
        "--precision",
        "fp32",
        "--no-progress",
    )
    config = json.loads((out / "export" / "config.json").read_text())
    assert config["charset"] == " 0123456789" and config["model"]["num_classes"] == 12
    assert config["training"]["finetune"] == str(trained_run / "export")


def test_cli_reports_bad_input_as_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "rec",
            "--data",
            f"manifest:{tmp_path / 'missing.jsonl'}",
            "--out",
            str(tmp_path / "x"),
            "--steps",
            "1",
        ],
    )
    assert result.exit_code == 1 and "missing.jsonl" in result.output


def test_resume_without_a_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"last\.ckpt"):
        train_recognizer(RecTrainConfig(out=tmp_path / "none", data=["fake:n=8"], resume=True))


def test_an_unreadable_checkpoint_is_named_on_resume_and_finetune(tmp_path: Path) -> None:
    from textlens.errors import ModelError
    from textlens.train.finetune import read_source

    out = tmp_path / "run"
    out.mkdir()
    (out / "last.ckpt").write_bytes(b"half a checkpoint")
    with pytest.raises(ModelError, match=r"cannot read the checkpoint") as resumed:
        train_recognizer(RecTrainConfig(out=out, data=["fake:n=8"], resume=True))
    assert "last.ckpt" in str(resumed.value)
    with pytest.raises(ModelError, match=r"cannot read the checkpoint") as finetuned:
        read_source(out / "last.ckpt")
    assert "last.ckpt" in str(finetuned.value)


@pytest.mark.ddp
def test_ddp_on_two_cpu_processes(tmp_path: Path) -> None:
    cfg = RecTrainConfig(
        out=tmp_path / "ddp",
        data=["fake:n=32"],
        val=["fake:n=8,seed=3"],
        steps=3,
        batch=4,
        val_every=2,
        workers=0,
        precision="fp32",
        devices=2,
        strategy="ddp_spawn",
        device="cpu",
        progress=False,
    )
    summary = train_recognizer(cfg)
    assert summary["steps"] == 3 and summary["samples"] == 3 * 4 * 2
    assert (tmp_path / "ddp" / "export" / "model.safetensors").is_file()


@pytest.mark.parametrize("arch", ["crnn_small", "attn_mha", "vitstr_tiny"])
def test_the_training_speed_benchmark_runs_a_real_step(arch: str) -> None:
    from bench.train_speed import build, fake_batch, measure

    system = build(arch)
    expected_width = system.model.input_config().get("max_width") or 64  # ViTSTR takes one fixed width
    batch = fake_batch(system, batch=2, width=expected_width)
    assert batch["images"].shape == (2, 1, 32, expected_width) and len(batch["texts"]) == 2
    before = [p.detach().clone() for p in system.model.parameters()]
    (rate,) = measure(system, [64], batch=2, steps=1)
    assert rate > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, system.model.parameters(), strict=True))
