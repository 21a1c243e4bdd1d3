"""Correctness of profile_dataset on real data: vic_elec and ETTh1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsalign.components.config import ProfileConfig
from tsalign.components.profiling import load_profile, profile_dataset

FAST = ProfileConfig(tokenizer=None, plots=False)


@pytest.fixture(scope="module")
def vic_profile(vic_elec, tmp_path_factory):
    frame, meta = vic_elec
    out = tmp_path_factory.mktemp("vic")
    return (*profile_dataset(frame, meta, ProfileConfig(tokenizer=None), out), out)


@pytest.fixture(scope="module")
def ett_profile(etth1, tmp_path_factory):
    frame, meta = etth1
    return profile_dataset(frame, meta, FAST, tmp_path_factory.mktemp("ett"))[0]


def test_vic_elec_daily_and_weekly_periods(vic_profile):
    profile = vic_profile[0]
    demand = profile.characteristic.channels["Demand"]
    periods = [c.period for c in demand.periods]
    assert 48 in periods and 336 in periods
    assert profile.dominant_period() == 48
    assert profile.dominant_period("Demand", max_period=96) == 48
    assert demand.seasonal_strength > 0.6


def test_vic_elec_temperature_demand_correlation_reported(vic_profile):
    profile = vic_profile[0]
    pair = next(p for p in profile.characteristic.pairs if {p.a, p.b} == {"Demand", "Temperature"})
    # Demand rises with heat in summer and with cold in winter: weak positive overall.
    assert 0.1 < pair.pearson < 0.5
    assert profile.characteristic.correlation["Demand"]["Temperature"] == pair.pearson
    assert "corr Demand ~ Temperature" in dict(profile.summary_rows())


def test_vic_elec_representation_and_domain(vic_profile):
    profile = vic_profile[0]
    rep = profile.representation
    assert rep.length == 52608 and rep.n_channels == 3 and not rep.univariate
    assert rep.sampling_interval_s == 1800.0 and rep.regular
    assert rep.missing_share == 0.0
    assert profile.domain.event_channels == ["Holiday"]
    assert "MWh" in profile.domain.domain_context
    assert "hour_of_day" in profile.domain.calendar_features
    assert profile.suggested_patch() == (16, 8)  # 16 divides the 48-step day


def test_outputs_written_and_reloaded(vic_profile):
    profile, ref, out = vic_profile
    assert ref.dominant_period == 48
    assert ref.recommended_paradigm == profile.recommendation.paradigm
    loaded = load_profile(out / "profile.json")
    assert loaded == profile
    assert json.loads((out / "profile.json").read_text())["schema_version"] == 1
    report = (out / "report.md").read_text()
    assert "## Characteristic" in report and "Demand" in report
    names = sorted(p.rsplit("/", 1)[-1] for p in ref.plot_paths)
    assert names == ["acf.png", "periodogram.png", "series.png", "stl.png"]
    for path in ref.plot_paths:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".profile-staging")]


def test_etth1_load_channels_have_daily_period(ett_profile):
    for name in ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL"):
        periods = [c.period for c in ett_profile.characteristic.channels[name].periods[:3]]
        assert 24 in periods, (name, periods)


def test_etth1_ot_trend_and_non_stationary(ett_profile):
    ot = ett_profile.characteristic.channels["OT"]
    assert ot.trend_strength > 0.6
    assert ot.kpss_pvalue < 0.05  # KPSS rejects level stationarity
    assert ot.adf_pvalue > 0.05  # ADF cannot reject a unit root
    assert ot.stationarity == "non_stationary"
