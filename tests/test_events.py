"""The sample record (SampleInfo): true after generation, selection, concatenation, boosts and files."""
import dataclasses

import numpy as np
import pytest

import mcdh
from mcdh.events import sigma_and_error

MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0)


@pytest.fixture(scope="module")
def sample():
    return mcdh.generate_signal(MODEL, "phi", 5000, 7, n_threads=1)


def test_record_of_a_generated_sample(sample):
    info = sample.info
    assert (info.process, info.frame, info.seed, info.sqrt_s) == ("signal-phi", "cms", 7, MODEL.sqrt_s)
    assert info.model["m_A"] == 6.0 and info.model["benchmark"] == "B1"
    assert (info.sigma_fb, info.sigma_err_fb) == sigma_and_error(sample.weights)
    assert info.selected is None and info.parts == 1
    assert sample.parameters["sigma_fb"] == info.sigma_fb and sample.parameters["seed"] == 7


def test_record_is_frozen(sample):
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.info.sigma_fb = 1.0
    with pytest.raises(TypeError):
        sample.info.record["sigma_fb"] = 1.0
    with pytest.raises(TypeError):
        sample.info.model["m_A"] = 3.0
    p = sample.parameters
    p["model"]["m_A"] = 3.0  # a copy: the record does not change
    assert sample.info.model["m_A"] == 6.0 and sample.parameters["model"]["m_A"] == 6.0


def test_selection_recomputes_sigma_and_says_so(sample):
    mask = sample.momentum("phi")[:, 3] > 0
    sel = sample.select(mask)
    assert sel.info.selected == (int(mask.sum()), len(sample)) and 0 < mask.sum() < len(sample)
    assert (sel.info.sigma_fb, sel.info.sigma_err_fb) == sigma_and_error(sample.weights[mask])
    assert sel.parameters["selected"] == {"kept": int(mask.sum()), "of": len(sample)}
    assert sel.parameters["sigma_fb"] == sel.sigma_fb < sample.sigma_fb
    with pytest.raises(mcdh.ParameterError, match="mask"):
        sample.select(np.ones(len(sample)))  # not boolean


def test_concatenating_independent_samples_pools_the_estimates(sample):
    other = mcdh.generate_signal(MODEL, "phi", 3000, 8, n_threads=1)
    both = mcdh.concatenate([sample, other])
    n1, n2 = len(sample), len(other)
    assert len(both) == n1 + n2 and both.info.parts == 2 and both.info.seed is None
    # the pooled estimate: the event-weighted mean of the two, not their sum
    assert both.sigma_fb == pytest.approx((n1 * sample.sigma_fb + n2 * other.sigma_fb) / (n1 + n2), rel=1e-12)
    assert both.info.sigma_fb == both.sigma_fb and both.info.sigma_err_fb == both.sigma_err_fb
    assert both.info.sigma_err_fb < min(sample.info.sigma_err_fb, other.info.sigma_err_fb)
    assert both.parameters["parts"] == 2 and "seed" not in both.parameters


def test_concatenation_refuses_other_models_and_frames(sample):
    b2 = mcdh.generate_signal(mcdh.DarkSector.from_benchmark("B2", 6.0), "phi", 500, 1, n_threads=1)
    with pytest.raises(mcdh.ParameterError, match="model"):
        mcdh.concatenate([sample, b2])
    lab = mcdh.generate_signal(MODEL, "phi", 500, 1, n_threads=1, frame="lab")
    with pytest.raises(mcdh.ParameterError, match="frame"):
        mcdh.concatenate([sample, lab])
    with pytest.raises(mcdh.ParameterError, match="samples"):
        mcdh.concatenate([])


def test_stream_batches_concatenate_to_the_in_memory_sample():
    n = 70_000  # two batches on one thread
    batches = list(mcdh.SignalStream(MODEL, "phi", n, 3, n_threads=1))
    assert len(batches) == 2 and batches[0].info.record["batch"] == {"first": 0, "events": 65536, "of": n}
    whole = mcdh.concatenate(batches)
    ref = mcdh.generate_signal(MODEL, "phi", n, 3, n_threads=1)
    assert np.array_equal(whole.weights, ref.weights) and np.array_equal(whole.momenta, ref.momenta)
    assert whole.info.sigma_fb == ref.info.sigma_fb and whole.info.sigma_err_fb == ref.info.sigma_err_fb
    assert "batch" not in whole.parameters and whole.info.seed == 3


@pytest.mark.parametrize("frame", ["cms", "lab"])
def test_unweighted_stream_is_the_in_memory_unweighted_sample(frame):
    """Two passes (weights, then events) give generate_signal(unweight=True) exactly: the same events kept, the
    same weights and the same record."""
    n = 140_000  # three batches on one thread
    stream = mcdh.SignalStream(MODEL, "gammaphi", n, 5, n_threads=1, unweight=True, frame=frame)
    n_out = stream.n_out
    batches = list(stream)
    ref = mcdh.generate_signal(MODEL, "gammaphi", n, 5, n_threads=1, unweight=True, frame=frame)
    whole = mcdh.concatenate(batches)
    assert n_out == len(ref) == len(whole) < n and len(batches) == 3
    assert np.array_equal(whole.weights, ref.weights) and np.array_equal(whole.momenta, ref.momenta)
    assert stream.parameters == ref.parameters and np.mean(ref.weights == ref.parameters["w_max"]) > 0.95
    with pytest.raises(mcdh.ParameterError, match="max_overweight"):
        mcdh.SignalStream(MODEL, "phi", n, 5, unweight=True, max_overweight=1.0)


def test_phi_decays_do_not_depend_on_the_chunking():
    from mcdh.generate.decays import PhiDecayer

    q = mcdh.generate_signal(MODEL, "phi", 1000, 2, n_threads=1).momenta[:, 0]
    whole = PhiDecayer(MODEL, 9)(q)
    decayer = PhiDecayer(MODEL, 9)
    parts = [decayer(q[a:b]) for a, b in ((0, 1), (1, 400), (400, 1000))]
    for key in ("proper_length_mm", "daughter_ids", "daughter_masses"):
        assert np.array_equal(np.concatenate([getattr(d, key) for d in parts]), getattr(whole, key)), key
    assert np.array_equal(np.concatenate([d.daughters for d in parts], axis=1), whole.daughters)


def test_file_of_stream_batches_records_the_runs_sigma(tmp_path):
    """Written without set_parameters, the file's record is the run's, not the first batch's."""
    n = 70_000
    path = tmp_path / "s.root"
    with mcdh.open_writer(path, n) as out:
        for ev in mcdh.SignalStream(MODEL, "phi", n, 3, n_threads=1):
            out.write(ev)
    back = mcdh.read_events(path)
    ref = mcdh.generate_signal(MODEL, "phi", n, 3, n_threads=1)
    assert back.info.sigma_fb == pytest.approx(ref.info.sigma_fb, rel=1e-12)
    assert back.info.sigma_err_fb == pytest.approx(ref.info.sigma_err_fb, rel=1e-9)
    assert "batch" not in back.parameters and back.info.seed == 3


def test_boost_and_file_round_trip_keep_the_record(sample, tmp_path):
    lab = mcdh.generate_signal(MODEL, "phi", 2000, 7, n_threads=1, frame="lab")
    assert lab.frame == "lab" and "beams" in lab.info.record and lab.info.seed == 7
    for suffix in (".root", ".lhe", ".hepmc"):
        path = tmp_path / f"s{suffix}"
        mcdh.write_events(path, sample)
        back = mcdh.read_events(path)
        assert back.info.model == sample.info.model and back.info.seed == 7, suffix
        assert back.info.sigma_fb == pytest.approx(sample.info.sigma_fb, rel=1e-12), suffix


def test_lhe_record_is_found_behind_a_long_header_comment(sample, tmp_path):
    """mcdh reads its <mcdh> block itself: behind a 65 MB comment (a generator's run card, say) it is still
    found - the first version looked at 64 MB and then dropped the record without a word."""
    plain = tmp_path / "plain.lhe"
    mcdh.write_events(plain, sample)
    text = plain.read_text()
    at = text.index("<header>") + len("<header>")  # before mcdh's block, as a generator's comment would be
    assert at < text.index("<mcdh") < text.index("</header>")
    path = tmp_path / "padded.lhe"
    path.write_text(text[:at] + "<!--" + "x" * (65 << 20) + "-->" + text[at:])
    back = mcdh.read_events(path)
    assert back.info.model == sample.info.model and back.info.seed == sample.info.seed
