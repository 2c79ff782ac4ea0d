"""The attention explorer: the figure shows the right panels and a map that sums to 1,
queries outside the frame are refused, the widget builds (METHOD.md §2.2 step 3)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import nlvfi
from nlvfi.explorer import (
    Example,
    attended_distance,
    attention_figure,
    attention_map,
    explorer_widget,
    run_example,
    synthetic_examples,
)


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return nlvfi.build_generator("tiny").eval()


@pytest.fixture(scope="module")
def example(generator):
    torch.manual_seed(1)
    prev, next = torch.rand(1, 3, 40, 72), torch.rand(1, 3, 40, 72)  # padded to 48 x 80: a 3x5 grid
    return run_example(generator, prev, next, name="random pair")


def test_example_holds_one_attention_row_per_cell(example):
    assert example.padded == (48, 80) and example.stride == 16 and example.grid == (3, 5)
    assert example.attention.shape == (15, 15)
    assert example.frame.shape == (1, 3, 40, 72)
    torch.testing.assert_close(example.attention.sum(1), torch.ones(15))


def test_figure_has_three_panels_and_a_colour_bar(example):
    fig = attention_figure(example, (10, 60))
    try:
        titles = [ax.get_title() for ax in fig.axes]
        assert len(fig.axes) == 4  # prev, next, generated, colour bar
        assert titles[0].startswith("prev") and titles[1].startswith("next") and titles[2].startswith("generated")
        assert "attention weight" in fig.axes[3].get_ylabel()
        assert len(fig.axes[0].images) == 2 and len(fig.axes[1].images) == 2  # frame + attention overlay
        assert len(fig.axes[2].images) == 1  # the generated frame, no overlay
        assert fig.axes[0].images[0].get_array().shape == (40, 72, 3)
    finally:
        plt.close(fig)


def test_the_map_shown_is_the_query_row_and_sums_to_one(example):
    query = (10, 60)  # cell (0, 3) -> row 3 of the 3x5 grid
    fig = attention_figure(example, query)
    try:
        shown = np.asarray(fig.axes[0].images[1].get_array())
        assert shown.shape == (3, 5)
        assert shown.sum() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(shown.ravel(), example.attention[3].numpy(), rtol=0, atol=1e-7)
        np.testing.assert_array_equal(np.asarray(fig.axes[1].images[1].get_array()), shown)  # same row over next
    finally:
        plt.close(fig)


@pytest.mark.parametrize("query", [(-1, 0), (0, -1), (40, 0), (0, 72), (100, 100)])
def test_query_outside_the_frame_is_refused(example, query):
    figures = plt.get_fignums()
    with pytest.raises(ValueError, match="outside the 40x72 frame"):
        attention_figure(example, query)
    with pytest.raises(ValueError, match="outside"):
        attention_map(example, query)
    assert plt.get_fignums() == figures  # refused before any figure is made


def test_query_in_the_padding_row_uses_the_last_cell(example):
    # y = 39 is inside the frame; its cell (2) is the last row of the grid, half padding
    assert attention_map(example, (39, 0)).sum() == pytest.approx(1.0, abs=1e-5)


def test_attended_distance_of_a_one_hot_row_is_the_distance_to_that_cell():
    attention = torch.zeros(4, 4)
    attention[:, 3] = 1.0  # every position looks only at cell (1, 1) of a 2x2 grid
    frame = torch.zeros(1, 3, 32, 32)
    example = Example("one-hot", frame, frame, frame, attention, padded=(32, 32), stride=16)
    assert attended_distance(example, (8, 8)) == pytest.approx(np.hypot(16, 16))
    assert attended_distance(example, (24, 24)) == pytest.approx(0.0)


def test_run_example_restores_the_training_flag_and_refuses_batches(generator):
    generator.train()
    try:
        run_example(generator, torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
        assert generator.training
    finally:
        generator.eval()
    with pytest.raises(ValueError, match=r"\(1, 3, H, W\)"):
        run_example(generator, torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))


def test_synthetic_examples_per_motion(generator):
    examples = synthetic_examples(generator, motions=("small", "large"), count=1, size=64, seed=0)
    assert list(examples) == ["small", "large"]
    (small,), (large,) = examples["small"], examples["large"]
    assert small.size == (64, 64) and small.middle.shape == (1, 3, 64, 64) and small.motion == "small"
    assert "px mean motion" in large.name


def test_widget_builds_and_redraws(example, monkeypatch):
    widgets = pytest.importorskip("ipywidgets")
    import nlvfi.explorer

    drawn = []  # (example name, query) of every redraw
    real_figure = nlvfi.explorer.attention_figure

    def spy(ex, query_yx, **kwargs):
        drawn.append((ex.name, tuple(query_yx)))
        return real_figure(ex, query_yx, **kwargs)

    monkeypatch.setattr(nlvfi.explorer, "attention_figure", spy)
    other = Example("small frame", example.prev[..., :32, :32], example.next[..., :32, :32],
                    example.frame[..., :32, :32], torch.full((4, 4), 0.25), padded=(32, 32), stride=16)  # fmt: skip
    box = explorer_widget({"small": [example], "large": [example, other]})
    assert isinstance(box, widgets.VBox)
    controls = box.children[0]
    motion, choice = controls.children[0].children
    query_x, query_y = controls.children[1].children
    assert (query_x.max, query_y.max) == (71, 39) and (query_y.value, query_x.value) == (20, 36)
    assert drawn == [("random pair", (20, 36))]  # drawn once on creation
    query_x.value = 70
    assert drawn[-1] == ("random pair", (20, 70))
    motion.value = "large"
    assert [label for label, _ in choice.options] == ["random pair", "small frame"]
    choice.value = 1  # a smaller frame: the sliders shrink to it and the query stays inside
    assert (query_x.max, query_y.max) == (31, 31)
    assert drawn[-1] == ("small frame", (20, 31))
    plt.close("all")


def test_widget_refuses_empty_examples():
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match="non-empty"):
        explorer_widget({"small": []})


def test_widget_answers_a_slider_move_sent_over_the_comm_protocol():
    """What JupyterLab does when the student drags the slider: a comm_msg to a real kernel,
    which must answer with a new figure (scripts/check_explorer_comm.py, notebook 09's cells)."""
    pytest.importorskip("ipywidgets")
    pytest.importorskip("jupyter_client")
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "check_explorer_comm.py"
    spec = importlib.util.spec_from_file_location("check_explorer_comm", script)
    comm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(comm)
    setup = [
        "import torch, nlvfi\n"
        "from IPython.display import display\n"
        "from nlvfi.explorer import explorer_widget, synthetic_examples\n"
        "torch.manual_seed(0)\n"
        "examples = synthetic_examples(nlvfi.build_generator('tiny').eval(), motions=('small',), count=1, size=64, seed=0)\n"
        "display(explorer_widget(examples))"
    ]
    result = comm.drive_slider(setup, values=(5, 60), timeout=120)
    assert result["slider_found"]
    first, second = result["figures"]
    assert len(first) >= 1 and len(second) >= 1, result  # each move drew a figure
    assert first[-1] != second[-1]  # for a different query
