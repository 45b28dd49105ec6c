"""The web page's parts without a server: sessions, the form check, the SVG figures, the models overview."""

import re

import pytest

import meddl.serving.web as web
from meddl.serving.web.charts import contribution_bars_svg, survival_curve_svg
from meddl.serving.web.forms import check_patient_form, field_specs
from meddl.serving.web.overview import headline_metrics
from meddl.serving.web.sessions import SessionSigner, csrf_matches

COLUMNS = [
    {"name": "age", "type": "numeric", "training_range": {"low": 18, "high": 95, "basis": "min/max"},
     "missing_values": "imputed with the training median (60)", "example": 60},
    {"name": "sex", "type": "categorical", "categories": ["female", "male"],
     "missing_values": "not allowed: this model cannot impute missing values"},
]


def test_public_names():
    assert web.__all__ == ["install_web"]


def test_session_cookie_round_trips_and_refuses_forged_damaged_and_expired_values():
    signer = SessionSigner(b"k" * 32, lifetime_s=60)
    session = signer.new("ana", "clinician", now=1000.0)
    value = signer.dumps(session)
    assert signer.loads(value, now=1030.0) == session
    assert signer.loads(value, now=1061.0) is None                       # expired
    body, signature = value.split(".")
    assert signer.loads(body[:-2] + "xx." + signature, now=1030.0) is None  # edited payload
    assert SessionSigner(b"o" * 32).loads(value, now=1030.0) is None      # another server's key
    assert signer.loads("garbage", now=1030.0) is None
    assert signer.renewed(session, now=1050.0).expires_at == 1110.0
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SessionSigner(b"short")
    assert csrf_matches("abc", "abc") and not csrf_matches("abc", "abd") and not csrf_matches("abc", None)


def test_form_fields_follow_the_schema_and_the_server_check_keeps_what_was_typed():
    age, sex = field_specs(COLUMNS)
    assert (age.kind, age.minimum, age.maximum, age.optional, age.example) == ("numeric", 18.0, 95.0, True, "60")
    assert "training range 18 to 95" in age.hint and "optional" in age.hint
    assert (sex.kind, sex.categories, sex.optional) == ("categorical", ("female", "male"), False)

    refused = check_patient_form([age, sex], {"field-0": "abc", "field-1": ""})
    assert not refused.ok
    assert "must be a number" in refused.errors["field-0"] and "required" in refused.errors["field-1"]
    assert refused.values == {"field-0": "abc", "field-1": ""}

    outside = check_patient_form([age, sex], {"field-0": "130", "field-1": "male"})
    assert not outside.ok and "outside the training range" in outside.errors["field-0"]
    accepted = check_patient_form([age, sex], {"field-0": "130", "field-1": "male"}, accept_out_of_range=True)
    assert accepted.ok and accepted.record == {"age": 130.0, "sex": "male"} and "field-0" in accepted.warnings

    unknown = check_patient_form([age, sex], {"field-0": "", "field-1": "other"})
    assert "must be one of: female, male" in unknown.errors["field-1"]
    assert check_patient_form([age, sex], {"field-0": "", "field-1": "female"}).record == {"age": None,
                                                                                           "sex": "female"}


def test_survival_svg_draws_curve_band_and_horizons():
    svg = survival_curve_svg([0, 10, 20], [1.0, 0.8, 0.5], lower=[1.0, 0.7, 0.4], upper=[1.0, 0.9, 0.6],
                             horizons=[10], time_label="time (<days>)")
    assert svg.startswith("<svg") and 'class="curve"' in svg and 'class="band"' in svg
    assert svg.count('stroke-dasharray') == 1
    assert "time (&lt;days&gt;)" in svg and "<days>" not in svg


def test_contribution_bars_escape_column_names_and_point_the_right_way():
    svg = contribution_bars_svg([("<script>x</script>", 0.4), ("age", -0.2)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1], rel=0.01)      # bars proportional to |contribution|
    assert "+0.4" in svg and "−0.2" in svg


def test_headline_metrics_of_each_task_carry_their_intervals():
    metrics = {"test": {"metrics": {"auroc": {"value": 0.8, "ci95": [0.7, 0.9]}, "c_index": {"value": 0.7}}}}
    assert headline_metrics("diagnosis", metrics) == [("AUROC", "0.800 (95% CI 0.700 to 0.900)")]
    assert headline_metrics("survival", metrics) == [("C-index", "0.700")]
    treatment = {"test": {"ate_aipw": {"value": 1.0, "ci95": [0.5, 1.5]}, "policy_value": {}}}
    assert headline_metrics("treatment", treatment)[0][1] == "1.000 (95% CI 0.500 to 1.500)"


def test_session_key_is_shared_through_the_database_or_the_environment(tmp_path, monkeypatch):
    from meddl.errors import ConfigError
    from meddl.serving.db import make_engine
    from meddl.serving.web.secret import SECRET_VARIABLE, shared_secret

    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    first, second = shared_secret(make_engine(url)), shared_secret(make_engine(url))   # two worker processes
    assert first == second and len(first) == 32
    assert shared_secret(None) != shared_secret(None)                                   # no database: random
    monkeypatch.setenv(SECRET_VARIABLE, "ab" * 32)
    assert shared_secret(make_engine(url)) == bytes.fromhex("ab" * 32)
    monkeypatch.setenv(SECRET_VARIABLE, "too short")
    with pytest.raises(ConfigError, match="64 hex digits"):
        shared_secret(None)


def test_probability_interval_is_shown_only_when_it_contains_the_probability():
    from meddl.serving.web.answers import _probability_interval

    assert _probability_interval(0.47, 0.40, 0.55) == (" (95% interval 40% to 55%)", "")
    shown, why = _probability_interval(0.47, 0.49, 0.50)
    assert shown == "" and "uncalibrated" in why
    assert _probability_interval(0.47, None, None) == ("", " (single network: no interval)")
