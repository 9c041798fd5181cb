"""History shows each experiment's settings and the command that repeats it (issue 23 item 7)."""

from __future__ import annotations

import shlex

from tests.test_app import assert_clean, fresh_caches, page  # noqa: F401  (fresh_caches: autouse fixture)
from tests.test_app_compare import compare_page
from textclf.cli.compare import config_from_args
from textclf.cli.parser import build_parser
from textclf.data.demo import demo_dataset
from textclf.jobs.runner import JobRunner
from textclf.runs.compare import compare
from textclf.runs.config import AUTO, CompareConfig
from textclf.storage.store import Store

CONFIG = CompareConfig(models=("svm", "knn:k=3"), cv=3, seeds=(0, 1))


def test_history_shows_the_settings_and_a_command_that_repeats_the_experiment():
    job = JobRunner(Store(), threads=1).submit(demo_dataset(rows=120, seed=4), CONFIG)
    assert job.wait(timeout=120) and job.status == "done", job.error
    at = page("pages/5_History.py").run()
    assert_clean(at)
    settings = next(f.value for f in at.dataframe if "Setting" in f.value.columns).set_index("Setting")["Value"]
    assert settings["Evaluation"].startswith("3-fold cross-validation")
    assert settings["Seeds"] == "0, 1"
    assert "kNN" in settings["Models"]
    command = at.code[0].value
    words = shlex.split(command)
    assert words[:5] == ["python", "-m", "textclf", "compare", "--demo"]
    assert config_from_args(build_parser().parse_args(words[3:])) == CONFIG


def test_compare_shows_the_command_of_the_comparison_it_shows():
    config = CompareConfig(models=("svm",), max_len=AUTO)
    at = compare_page(compare(demo_dataset(rows=120, seed=4), config))
    assert_clean(at)
    words = shlex.split(at.code[0].value)
    assert config_from_args(build_parser().parse_args(words[3:])) == config
