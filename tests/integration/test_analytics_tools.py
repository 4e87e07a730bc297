"""Analytics on the generated 9,000-row sample in the embedded Postgres: the planted incidents are recovered and
ranked, the run is persisted, the tools read it back, and the CLI command works end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tools.analytics_tools as T
from cli.analytics_cmd import analytics_app
from services.analytics_runs import AnalyticsRun, RunOptions, run_analysis
from services.analytics_store import find_answer_key, get_run
from services.answer_key import LABELS_FILE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(sample_db, database, tmp_path_factory: pytest.TempPathFactory) -> AnalyticsRun:  # type: ignore[no-untyped-def]
    key = Path(sample_db["dir"]) / LABELS_FILE
    return run_analysis(database.conn, tmp_path_factory.mktemp("analytics"), RunOptions(answer_key=key))


# The two tests that make small runs come first, so the run left as "latest" for later test modules (agents, chat)
# is the module fixture's full 9,000-row run.


def test_cluster_interactions_tool_persists_a_new_run(sample_db, database) -> None:  # type: ignore[no-untyped-def]
    out: dict[str, Any] = T.cluster_interactions.invoke({"k": 6, "max_rows": 1500})
    assert out["k"] == 6 and out["n_rows"] == 1500 and len(out["clusters"]) == 6
    latest = get_run(database.conn)
    assert latest is not None and latest["run_id"] == out["run_id"]
    assert Path(out["report_html"]).is_file()


def test_cli_run_prints_outputs_and_the_answer_key_score(sample_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(analytics_app, ["run", "--out", str(tmp_path), "--no-umap", "--max-rows", "3000",
                                                "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert Path(summary["paths"]["report_html"]).is_file() and summary["n_rows"] == 3000
    assert summary["evaluation"]["answer_key"].endswith(LABELS_FILE) and len(summary["evaluation"]["incidents"]) == 4
    bad = CliRunner().invoke(analytics_app, ["run", "--out", str(tmp_path), "--k", "many"])
    assert bad.exit_code != 0


def test_planted_incidents_are_recovered_and_ranked(run: AnalyticsRun) -> None:
    ev = run.evaluation
    assert ev is not None
    incidents = {i["incident_id"]: i for i in ev["incidents"]}
    print("\nincident rows:", ev["incident_rows"], "failing rows:", ev["failing_rows"])
    for i in incidents.values():
        print(f"{i['incident_id']}: cluster {i['main_cluster']} rank {i['rank']} recall {i['recall']} "
              f"precision {i['precision']} type share {i['type_share']}")  # fmt: skip
    assert set(incidents) == {"INC-001", "INC-002", "INC-003", "INC-004"}
    assert ev["incident_rows"]["adjusted_rand"] >= 0.85 and ev["incident_rows"]["purity"] >= 0.95
    assert all(i["recall"] >= 0.75 and i["type_share"] >= 0.95 and i["rank"] <= 5 for i in incidents.values())
    assert ev["in_top3"] >= 3
    mains = {i["main_cluster"] for i in incidents.values()}
    assert {r.cluster_id for r in run.ranked[:3]} <= mains  # the top 3 clusters are all planted incidents'


def test_run_is_persisted_with_every_interaction(run: AnalyticsRun, database) -> None:  # type: ignore[no-untyped-def]
    stored = get_run(database.conn, run.run_id)
    assert stored is not None and stored["metadata"] == json.loads(Path(run.paths["cluster_metadata"]).read_text())
    row = database.conn.execute(
        "SELECT count(*) AS n, count(DISTINCT cluster_id) AS k, count(x_umap) AS with_umap FROM interaction_clusters "
        "WHERE run_id = %s",
        (run.run_id,),
    ).fetchone()
    assert row == {"n": 9000, "k": run.result.k, "with_umap": 0}
    assert stored["params"]["n_without_embedding"] == 0 and len(stored["params"]["profiles"]) == run.result.k


def test_answer_key_is_found_next_to_the_ingested_sample(sample_db, database) -> None:  # type: ignore[no-untyped-def]
    assert find_answer_key(database.conn) == Path(sample_db["dir"]) / LABELS_FILE


def test_tools_read_the_latest_run(run: AnalyticsRun, database) -> None:  # type: ignore[no-untyped-def]
    latest = get_run(database.conn)
    assert latest is not None
    top = T.top_failure_clusters.invoke({"top": 3})
    assert top["run_id"] == latest["run_id"] and len(top["clusters"]) == 3
    ids = [i for c in top["clusters"] for i in c["example_failure_ids"]]
    failing = database.conn.execute(
        "SELECT count(*) AS n FROM interactions WHERE interaction_id = ANY(%s) AND is_failure", (ids,)
    ).fetchone()
    assert ids and failing["n"] == len(ids)
    ranked = T.rank_clusters.invoke({"strategy": "business_impact", "top": 5})
    scores = [r["score"] for r in ranked["ranking"]]
    assert scores == sorted(scores, reverse=True) and ranked["run_id"] == latest["run_id"]
    pca = T.project_embeddings.invoke({"method": "pca", "sample": 100})
    assert len(pca["points"]) == 100 and pca["n_points"] == latest["params"]["n_rows"]
    cid = run.ranked[0].cluster_id
    described = T.describe_cluster.invoke({"cluster_id": cid, "run_id": run.run_id})
    assert described["rank"] == 1 and described["failing_exemplars"] and described["recent_failure_ids"]
    assert run.evaluation is not None
    latency = next(i for i in run.evaluation["incidents"] if i["incident_id"] == "INC-001")
    inc1 = T.describe_cluster.invoke({"cluster_id": latency["main_cluster"], "run_id": run.run_id})
    assert next(iter(inc1["failing_models"])) == "llama-3.1-70b"  # count order survives jsonb
    assert inc1["top_failing_model"]["name"] == "llama-3.1-70b" and inc1["top_failing_model"]["lift"] > 1.8


def test_top_clusters_reuse_a_run_per_data_version(sample_db, database) -> None:  # type: ignore[no-untyped-def]
    """A question reuses the run of the current data version; a change of the project's data (an ingest that
    inserts or updates rows bumps the version) makes the next question cluster again."""
    from ingest.versions import bump_version
    from services.telemetry import data_version, pooled
    from tools.analytics_tools import top_failure_clusters

    first = top_failure_clusters.invoke({"top": 3})["run_id"]
    assert top_failure_clusters.invoke({"top": 3})["run_id"] == first
    with pooled() as conn:
        before = data_version(conn)
        assert data_version(conn) == before  # nothing changed: the same version, the same run
        assert top_failure_clusters.invoke({"top": 3})["run_id"] == first
        bump_version(conn, "default")  # what an ingest that inserts or updates rows does
        assert data_version(conn) != before and data_version(conn).startswith("default:")
    second = top_failure_clusters.invoke({"top": 3})["run_id"]
    assert second != first and top_failure_clusters.invoke({"top": 3})["run_id"] == second


def test_dashboard_draws_both_maps_by_failure_type(sample_db) -> None:  # type: ignore[no-untyped-def]
    """With a run that has PCA and UMAP coordinates, the dashboard draws both maps, coloured by failure type,
    and hovering names the interaction and its prompt."""
    from chat.dashboard import build_dashboard
    from tools.analytics_tools import project_embeddings, top_failure_clusters

    run = top_failure_clusters.invoke({"top": 3})["run_id"]
    project_embeddings.invoke({"method": "umap", "run_id": run, "sample": 10})  # stores UMAP for the run
    board = build_dashboard()
    figures = dict(board.figures)
    assert {"Interaction map (PCA)", "Interaction map (UMAP)"} <= set(figures)
    for name in ("Interaction map (PCA)", "Interaction map (UMAP)"):
        traces = figures[name].data
        assert {t.name for t in traces} >= {"none"} and len(traces) >= 3  # one trace per failure type
        hover = traces[0].text[0]
        assert hover.startswith("INT") and "(c" in hover and ": " in hover
