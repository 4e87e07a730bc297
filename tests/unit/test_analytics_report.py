"""Charts (plotly HTML + matplotlib PNG), the offline narrative, the standalone report and the cluster
metadata contract, on the planted data set."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics.charts import standard_charts, write_chart, write_charts
from analytics.cluster_metadata import CLUSTER_METADATA_VERSION, cluster_metadata, validate_cluster_metadata
from analytics.clustering import ClusterResult, kmeans_auto
from analytics.incident_detection import Incident, detect_incidents
from analytics.narrative import compose_narrative
from analytics.projection import pca_reduce
from analytics.ranking import RankedCluster, rank_clusters
from analytics.report import build_report
from analytics.semantics import ClusterProfile, describe_clusters
from analytics.synthetic import PlantedDataset, make_planted_dataset
from analytics.timeseries import Trends, compute_trends

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@dataclass
class Analysis:
    data: PlantedDataset
    result: ClusterResult
    profiles: list[ClusterProfile]
    ranked: list[RankedCluster]
    trends: Trends
    incidents: list[Incident]
    charts: dict[str, dict[str, str]]
    planted_cluster: int


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    data = make_planted_dataset(seed=0)
    result = kmeans_auto(data.X, k_range=(3, 6))
    profiles = describe_clusters(data.df, data.X, result.labels)
    ranked = rank_clusters(profiles)
    trends = compute_trends(data.df)
    coords = pca_reduce(data.X).coords
    verdicts = ["fail" if f else "pass" for f in data.df["is_failure"]]
    specs = standard_charts(data.df, trends, ranked, profiles, coords, result.labels, verdicts)
    charts = write_charts(specs, tmp_path_factory.mktemp("charts"))
    planted = int(result.labels[data.truth == data.planted_blob][0])
    return Analysis(data, result, profiles, ranked, trends, detect_incidents(data.df), charts, planted)


def test_standard_charts_write_real_png_and_html(analysis: Analysis) -> None:
    expected = {
        "failures_over_time",
        "latency_by_model",
        "cost_by_model",
        "cluster_priority",
        "map_by_cluster",
        "map_by_failure_type",
        "map_by_verdict",
    }
    assert set(analysis.charts) == expected
    for paths in analysis.charts.values():
        png = Path(paths["png"]).read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 1024
        html = Path(paths["html"]).read_text()
        assert "Plotly.newPlot" in html and not EXTERNAL.search(html)
    shared_js = Path(analysis.charts["cost_by_model"]["html"]).parent / "plotly.min.js"
    assert shared_js.stat().st_size > 1_000_000


def test_chart_html_carries_the_trace_data(analysis: Analysis) -> None:
    latency = Path(analysis.charts["latency_by_model"]["html"]).read_text()
    assert analysis.data.planted_model in latency and '"type":"box"' in latency
    p95 = analysis.trends.latency_by_model.iloc[0]["p95_ms"]
    assert f"{p95:,.0f}" in latency
    failures = Path(analysis.charts["failures_over_time"]["html"]).read_text()
    assert '"name":"latency_timeout"' in failures and "2025-03-10" in failures
    priority = Path(analysis.charts["cluster_priority"]["html"]).read_text()
    assert analysis.ranked[0].reason.split(",")[0] in priority


def test_inline_plotly_html_stands_alone(analysis: Analysis, tmp_path: Path) -> None:
    spec = standard_charts(analysis.data.df, analysis.trends)["cost_by_model"]
    paths = write_chart(spec, tmp_path, "cost inline", plotlyjs="inline", formats=("html",))
    assert set(paths) == {"html"} and paths["html"].endswith("cost_inline.html")
    html = Path(paths["html"]).read_text()
    assert "<script src=" not in html and len(html) > 1_000_000
    assert not (tmp_path / "plotly.min.js").exists()


def test_narrative_is_written_from_the_figures(analysis: Analysis) -> None:
    text = compose_narrative(analysis.profiles, analysis.ranked, analysis.trends, analysis.incidents)
    overall = analysis.trends.overall
    assert f"{overall['n_rows']:,} interactions" in text
    assert f"{overall['failure_rate']:.1%}" in text
    top = next(p for p in analysis.profiles if p.cluster_id == analysis.planted_cluster)
    assert f"cluster {top.cluster_id}" in text and f"{top.size:,} interactions" in text
    assert analysis.data.planted_model in text and "2025-03-10" in text
    assert len(text.split("\n\n")) == 5
    quiet = compose_narrative(analysis.profiles, [], analysis.trends, [])
    assert "No incident windows were detected" in quiet and "top priority" not in quiet


def test_report_html_is_standalone_and_embeds_images(analysis: Analysis, tmp_path: Path) -> None:
    markdown, html = build_report(
        analysis.profiles,
        analysis.ranked,
        analysis.trends,
        analysis.incidents,
        analysis.charts,
        md_base_dir=Path(analysis.charts["cost_by_model"]["png"]).parent,
    )
    assert not EXTERNAL.search(html) and "http://" not in html and "https://" not in html
    assert html.count('src="data:image/png;base64,') == len(analysis.charts)
    assert "<script" not in html and "<link" not in html
    assert analysis.ranked[0].reason in html.replace("&#x27;", "'")
    assert "## Priority clusters (mixed ranking)" in markdown
    assert "![cost by model](cost_by_model.png)" in markdown
    assert "composed offline" in markdown
    supplied, _ = build_report(
        analysis.profiles, analysis.ranked, analysis.trends, [], {}, narrative="Hello."
    )
    assert "Hello." in supplied and "No incident windows were detected." in supplied


def test_cluster_metadata_contract(analysis: Analysis) -> None:
    doc = cluster_metadata(analysis.result, analysis.profiles, analysis.ranked, embedding_model="minilm")
    assert doc["version"] == CLUSTER_METADATA_VERSION and doc["k"] == analysis.result.k
    assert validate_cluster_metadata(doc) == []
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    first = doc["clusters"][0]
    assert first["rank"] == 1 and first["cluster_id"] == analysis.planted_cluster
    assert first["dominant_failure_type"] == "latency_timeout" and len(first["exemplar_ids"]) == 3
    broken = dict(doc, version="2.0", clusters=[{"cluster_id": "x"}])
    errors = validate_cluster_metadata(broken)
    assert any("version" in e for e in errors) and any("clusters[0].cluster_id" in e for e in errors)
    assert any("missing 'label'" in e for e in errors)
