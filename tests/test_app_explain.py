"""The Predict page's explanations, driven through Streamlit's AppTest (the browser test takes the picture)."""

from __future__ import annotations

from tests.test_app import button, finished_job, fresh_caches, page  # noqa: F401  (fixtures used by name)
from textclf.data.demo import demo_dataset

HOSTILE = "really bad food <script>alert('x')</script>, would not order again"


def predict_page(job, text: str, dataset=None):
    at = page("pages/4_Predict.py")
    at.session_state["job"] = job
    if dataset is not None:
        at.session_state["dataset"] = dataset
    at.run()
    at.text_area[0].input(text)
    button(at, "Predict").click().run()
    return at


def assert_no_error_box(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def highlights(at) -> list[str]:
    return [element.proto.body for element in at.get("html") if "textclf-highlight" in element.proto.body]


def test_every_model_shows_an_escaped_highlight_side_by_side(finished_job):  # noqa: F811
    at = predict_page(finished_job, HOSTILE)
    assert_no_error_box(at)
    bodies = highlights(at)
    assert len(bodies) == len(finished_job.comparison().runs)
    assert all("&lt;script&gt;" in body or "&lt;</span>" in body for body in bodies)
    assert not any("<script" in body for body in bodies)
    assert any(r"winning n\-grams" in caption.value for caption in at.caption)


def test_integrated_gradients_can_be_chosen_for_the_neural_models(finished_job):  # noqa: F811
    at = predict_page(finished_job, HOSTILE)
    at.radio(key="explain_by").set_value("Integrated gradients (neural models)").run()
    assert_no_error_box(at)
    assert sum("integrated gradients" in caption.value for caption in at.caption) == 2
    assert any("Completeness" in caption.value for caption in at.caption)


def test_a_text_no_model_knows_gets_a_message_per_model(finished_job):  # noqa: F811
    at = predict_page(finished_job, "zzqx vvbnq")
    assert_no_error_box(at)
    assert len([i for i in at.info if "knows none of the words" in i.value]) == len(finished_job.comparison().runs)


def test_per_class_tables_over_the_training_split(finished_job):  # noqa: F811
    at = predict_page(finished_job, "really bad food", dataset=demo_dataset(rows=200, seed=2))
    at.toggle(key="explain_tables").set_value(True).run()
    assert_no_error_box(at)
    tables = [d.value for d in at.dataframe if d.value.index.name == "rank"]
    assert len(tables) == len(finished_job.comparison().runs)
    assert all(len(table.columns) == 4 for table in tables)
